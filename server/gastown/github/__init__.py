"""Landing through GitHub: pull requests built from the integration branch, their checks as the Refinery's last
gate, review comments on them as rework. Below the town (which wires it), beside the ledger; no editor, no CLI.

- ``settings``: ``github.*`` (landing mode, autoLand, remote, Enterprise base URL, poll limits);
- ``auth``: where the token comes from (the editor's secret, GH_TOKEN/GITHUB_TOKEN, ``gh auth token``);
- ``client``: the REST subset used, over githubkit (auth, base URL, Retry-After), typed by our own models;
- ``remote``: the remote's URL → host, owner, repository; pushing without force;
- ``body``: the pull request's body from the ledger;
- ``checks``: check runs + commit statuses → one verdict, failures attributed to beads by the files they touched;
- ``reviews``: review comments on lines → the bead that owns the lines (git blame);
- ``landing``: the flow (push, open or update, follow, merge), the town's rework/needs-you callbacks."""
