"""The app wakes when the countdown's text changes, not every second (each wake-up of an idle Textual app costs
about 1.5% of a core at once a second here): the wait `Countdown.next_change_ms` gives is exact."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from tokentop.widgets.header import Countdown

END = 1_800_000_000_000


@given(st.integers(1, 9 * 86_400_000))
def test_the_next_change_is_exactly_when_the_text_changes(left):
    countdown = Countdown()
    countdown.set_target("week", END, ZoneInfo("UTC"))
    now = END - left
    wait = countdown.next_change_ms(now)
    assert 1 <= wait <= 60_000
    assert countdown.text_at(now + wait - 1) == countdown.text_at(now) != countdown.text_at(now + wait)
    if left > 86_400_000 + 60_000:
        assert wait > 1000 or left % 60_000 < 1000  # a week away: once a minute, not every second


def test_nothing_to_count_down_waits_a_minute():
    countdown = Countdown()
    assert countdown.next_change_ms(END) == 60_000
    countdown.set_target("week", END, ZoneInfo("UTC"))
    assert countdown.next_change_ms(END + 5) == 60_000
