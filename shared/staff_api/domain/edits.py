"""What every body staff send shares: the edit model's rules and two small field types.

Kept apart from shared.staff_api.domain.models (the staff API's field models of leads,
interactions, notes, content and the company) so that a function validating one other
kind of body, a consultation, a campaign, an integration, does not define and import those
as well on its cold start.
"""

from typing import Annotated

from pydantic import ConfigDict, Field

from shared.domain.common import DeferredModel

Tag = Annotated[str, Field(min_length=1, max_length=50)]
DocId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^/]+$")]


class EditModel(DeferredModel):
    """A body staff send: stripped strings, and no key the model does not know."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
