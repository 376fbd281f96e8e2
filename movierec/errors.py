"""Exception types the core raises, so callers can tell bad input from bugs."""


class MovieRecError(Exception):
    """Base class for every error the core raises on purpose."""


class DataFormatError(MovieRecError, ValueError):
    """A data file or archive is not in its dataset's format; the message names file, line and text."""


class DownloadError(MovieRecError):
    """The official archive could not be downloaded or failed its checksum."""


class BundleError(MovieRecError):
    """An artifact bundle is missing, incomplete, corrupt or of an unsupported schema."""
