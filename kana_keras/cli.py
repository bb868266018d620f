"""How every command of the project ends on bad input: one "error: ..." line, not a traceback.

fit, evaluate and the recognizer's trainer share it, so a corrupt cache, a missing folder or
a bad flag reads the same wherever it is met.
"""

from __future__ import annotations

import sys

from kana_keras.errors import DataArgumentError, UsageError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


__all__ = ["EXIT_INTERRUPTED", "EXIT_USAGE", "UsageError", "report_errors"]


def report_errors(job, *job_args) -> int:
    """Run a command's job; end a known problem with one "error: ..." line, not a traceback.

    Exit 2 for usage errors (a bad flag, file or --data), 1 for other failures the message
    names, 130 for Ctrl-C. Every file is written whole (kana_keras.files), so an interrupt
    anywhere leaves nothing half-written.
    """
    try:
        return job(*job_args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nkana_keras: interrupted (Ctrl-C); files already written are whole, none is "
              "half-written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, DataArgumentError) else 1
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
