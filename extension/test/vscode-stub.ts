// A small stand-in for the `vscode` module (aliased in extension/vitest.config.mts): the classes the
// views and the review construct, with the same shapes, and registries that record what was registered
// so tests can call it. Anything else a test reaches for should fail loudly.
export enum TreeItemCollapsibleState {
  None = 0,
  Collapsed = 1,
  Expanded = 2,
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class ThemeIcon {
  constructor(
    readonly id: string,
    readonly color?: ThemeColor,
  ) {}
}

export class MarkdownString {
  constructor(readonly value: string = "") {}
}

export class TreeItem {
  id?: string;
  description?: string;
  tooltip?: string | MarkdownString;
  iconPath?: ThemeIcon;
  contextValue?: string;
  command?: { command: string; title: string; arguments?: unknown[] };
  constructor(
    readonly label: string,
    readonly collapsibleState: TreeItemCollapsibleState = TreeItemCollapsibleState.None,
  ) {}
}

type Listener<T> = (e: T) => unknown;

export class EventEmitter<T> {
  private listeners = new Set<Listener<T>>();
  readonly event = (listener: Listener<T>) => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };
  fire(data: T): void {
    for (const l of [...this.listeners]) l(data);
  }
  dispose(): void {
    this.listeners.clear();
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(startLine: number, startChar: number, endLine: number, endChar: number) {
    this.start = new Position(startLine, startChar);
    this.end = new Position(endLine, endChar);
  }
}

export class CodeLens {
  constructor(
    readonly range: Range,
    readonly command?: { title: string; command: string; arguments?: unknown[]; tooltip?: string },
  ) {}
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
    readonly query: string,
  ) {}
  static from(parts: { scheme: string; path?: string; query?: string }): Uri {
    return new Uri(parts.scheme, parts.path ?? "", parts.query ?? "");
  }
  static file(path: string): Uri {
    return new Uri("file", path, "");
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}:${this.path}${this.query ? `?${this.query}` : ""}`;
  }
}

export enum CommentMode {
  Editing = 0,
  Preview = 1,
}

export enum CommentThreadCollapsibleState {
  Collapsed = 0,
  Expanded = 1,
}

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}

export enum ProgressLocation {
  SourceControl = 1,
  Window = 10,
  Notification = 15,
}

const disposable = () => ({ dispose: () => {} });

/** What the code under test registered or showed, for assertions. */
export const recorded = {
  commands: new Map<string, (...args: any[]) => unknown>(),
  executed: [] as Array<{ command: string; args: unknown[] }>,
  messages: [] as Array<{ level: "info" | "warning" | "error"; text: string }>,
  inputBoxAnswers: [] as Array<string | undefined>,
  commentThreads: [] as Array<{ uri: Uri; range: Range; comments: unknown[]; [k: string]: unknown }>,
  treeViews: new Map<string, { description?: string; message?: string; visible: boolean }>(),
  statusItems: new Map<string, { text: string; tooltip: unknown }>(),
  reset(): void {
    this.treeViews.clear();
    this.statusItems.clear();
    this.commands.clear();
    this.executed.length = 0;
    this.messages.length = 0;
    this.inputBoxAnswers.length = 0;
    this.commentThreads.length = 0;
  },
};

export const commands = {
  registerCommand(id: string, fn: (...args: any[]) => unknown) {
    if (recorded.commands.has(id)) throw new Error(`command ${id} already registered`);
    recorded.commands.set(id, fn);
    return { dispose: () => recorded.commands.delete(id) };
  },
  async executeCommand(command: string, ...args: unknown[]) {
    recorded.executed.push({ command, args });
    const own = recorded.commands.get(command);
    return own ? own(...args) : undefined;
  },
};

export const workspace = {
  registerTextDocumentContentProvider: disposable,
  textDocuments: [] as unknown[],
};

export const languages = {
  registerCodeLensProvider: disposable,
};

export const comments = {
  createCommentController(id: string, label: string) {
    return {
      id,
      label,
      options: undefined as unknown,
      commentingRangeProvider: undefined as unknown,
      createCommentThread(uri: Uri, range: Range, list: unknown[]) {
        const thread = { uri, range, comments: list, dispose: () => {} };
        recorded.commentThreads.push(thread);
        return thread;
      },
      dispose: () => {},
    };
  },
};

const message = (level: "info" | "warning" | "error") => async (text: string) => {
  recorded.messages.push({ level, text });
  return undefined;
};

export const window = {
  showInformationMessage: message("info"),
  showWarningMessage: message("warning"),
  showErrorMessage: message("error"),
  async showInputBox() {
    return recorded.inputBoxAnswers.shift();
  },
  activeTextEditor: undefined as unknown,
  setStatusBarMessage: disposable,
  createTreeView(id: string, options: { treeDataProvider: unknown }) {
    const visibility = new EventEmitter<{ visible: boolean }>();
    const view = {
      id,
      ...options,
      description: undefined as string | undefined,
      message: undefined as string | undefined,
      visible: false,
      onDidChangeVisibility: visibility.event,
      dispose: () => visibility.dispose(),
    };
    recorded.treeViews.set(id, view);
    return view;
  },
  createStatusBarItem(id: string) {
    const item = { id, name: "", text: "", tooltip: "" as unknown, command: undefined as unknown, show() {}, dispose() {} };
    recorded.statusItems.set(id, item);
    return item;
  },
};

