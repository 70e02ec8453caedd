"""callcard: a local Bitrix24 host for telephony apps.

The public API is what ``__all__`` names; everything else is internal and may change.
"""

from .errors import BitrixError, CallcardError, ConfigurationError
from .settings import LimitSettings, Settings, WatchdogSettings

__version__ = "0.1.0"

__all__ = [
    "BitrixError",
    "CallcardError",
    "ConfigurationError",
    "LimitSettings",
    "Settings",
    "WatchdogSettings",
    "__version__",
]
