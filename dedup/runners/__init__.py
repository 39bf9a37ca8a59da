"""Runners drive the stages over a corpus: where the work runs, what is spilled, how the tables are written.

``local`` runs on one machine: worker threads, a spill folder, streaming output. The stages it drives
(``dedup.stage`` per batch; ``candidates``, ``cluster``, ``documents`` corpus-wide) know nothing of it.
"""
