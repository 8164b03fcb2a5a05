"""``hangup_callid``: another call is hung up by its id; this one goes on."""

from __future__ import annotations

import pytest

from flowbuilder import Flow, simulate
from flowbuilder.errors import NodeConfigError


def test_the_other_call_is_hung_up_and_this_one_goes_on(around, sent) -> None:
    t = simulate(around("hangup_callid", callid="{leg}"), variables={"leg": "421890"})

    assert sent(t)[0] == ("hangup_callid", {"callid": 421890})
    assert any(e.text == "hung up call 421890" for e in t.events)
    assert t.path == ["n", "after", "bye"]
    assert t.heard == ["After the node."]


@pytest.mark.parametrize(("callid", "words"), [("", "is required"), ("12ab", "only digits")])
def test_a_callid_that_is_not_one_is_refused(callid: str, words: str) -> None:
    with pytest.raises(NodeConfigError) as caught:
        Flow("h").add("end_leg", "hangup_callid", callid=callid)
    assert (caught.value.node_id, caught.value.field) == ("end_leg", "callid")
    assert words in str(caught.value)


def test_a_variable_that_holds_no_callid_takes_the_error_path(around) -> None:
    t = simulate(around("hangup_callid", callid="{leg}"), variables={"leg": "nobody"})

    assert t.path == ["n", "oops", "bye"]
    assert any("gave 'nobody', not a call id" in e.text for e in t.events)
