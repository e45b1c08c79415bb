"""The search as Ray Tune experiments: ``search`` (one experiment per phase), ``trial`` (the
trainable), ``oof_store`` (the actor owning out-of-fold predictions), ``ledger`` (what a
resume reads), ``interrupt`` (Ctrl-C) and ``progress`` (log lines)."""
