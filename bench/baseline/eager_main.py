"""functions/main.py as it was before its imports became lazy: every area module imported
when the module loads, whichever function the instance serves (for comparison only)."""

# As functions/main.py does first: what the package compiled at build time is served from
# its cache, so this row differs from lead_intake's in the eager imports alone.
from shared.compile_cache import install

install()

# Imported for their cost alone, as the old main.py imported every area's entry points.
import functions.analytics  # noqa: E402, F401
import functions.content  # noqa: E402, F401
import functions.referrals  # noqa: E402, F401
import functions.reviews  # noqa: E402, F401
import functions.tasks  # noqa: E402, F401
import functions.triggers  # noqa: E402, F401
from functions.forms import lead_intake  # noqa: E402, F401
