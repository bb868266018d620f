"""The project's error types, on the ground floor: any module may raise them, none imports more.

Every command ends a known problem with one ``error: ...`` line (``kana_keras.cli``): a
``UsageError`` or a ``DataArgumentError`` exits 2 (the user fixes a flag or a file), the
other ValueErrors here exit 1 (the message names what failed).
"""

from __future__ import annotations


class UsageError(RuntimeError):
    """Bad input the user can fix (the message names it and says how): exit 2, any command."""


class CacheError(ValueError):
    """A cache folder that is missing, incomplete or corrupt (the message names the file)."""


class ConvertError(ValueError):
    """Conversion cannot go on: bad input or unwritable output (the message says which)."""


class PreviewError(ConvertError):
    """The cache was written, only the ``--preview`` picture failed."""


class DataArgumentError(ConvertError):
    """The ``--data`` value itself is unusable (a usage error, not a conversion failure)."""
