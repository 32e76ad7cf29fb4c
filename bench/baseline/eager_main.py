"""functions/main.py as it was before its imports became lazy: every area module imported
when the module loads, whichever function the instance serves (for comparison only)."""

# Imported for their cost alone, as the old main.py imported every area's entry points.
import functions.analytics  # noqa: F401
import functions.content  # noqa: F401
import functions.referrals  # noqa: F401
import functions.reviews  # noqa: F401
import functions.tasks  # noqa: F401
import functions.triggers  # noqa: F401
from functions.forms import lead_intake  # noqa: F401
