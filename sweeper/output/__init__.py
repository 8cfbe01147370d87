"""The outputs: everything a sweep says, and to whom.

The reporter and its sinks (JSON lines, the human table, progress lines), the log
schema, and the notices (Prometheus metrics, Kubernetes Events, the webhook). Sinks hold
no state the rest of the program reads; they change nothing they report on.

May import ``sweeper.core`` and ``sweeper.cluster`` (Events are posted through the
client); never ``runs`` or ``cli``.
"""
