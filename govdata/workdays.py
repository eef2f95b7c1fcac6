"""Working days on the Chinese calendar: public holidays and the adjusted working days (调休) that
the State Council publishes each year, from the `chinese-calendar` package."""

from __future__ import annotations

import datetime as dt
import logging

import chinese_calendar

from xiaobao.db import aware

CHINA = dt.timezone(dt.timedelta(hours=8))  # no daylight saving time in China
log = logging.getLogger(__name__)
_warned: set[int] = set()
# statutory holidays on fixed solar dates (New Year, Labour Day, National Day); the lunar ones and
# the 调休 swaps are known only from the published schedule
FIXED_HOLIDAYS = {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)}


def is_workday(day: dt.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        # a year whose schedule is not published (or not in the installed package) yet: Monday to
        # Friday less the fixed-date holidays, until `pip install -U chinese-calendar` brings the real one
        if day.year not in _warned:
            _warned.add(day.year)
            log.warning("chinese-calendar 没有 %s 年的节假日安排，暂按周一至周五（除元旦、劳动节、国庆）计算工作日", day.year)
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS


def add_working_days(start: dt.date, n: int) -> dt.date:
    """The n-th working day after `start` (start itself does not count, as a deadline is counted)."""
    day = start
    while n > 0:
        day += dt.timedelta(days=1)
        n -= is_workday(day)
    return day


def previous_working_day(day: dt.date) -> dt.date:
    """The last working day before `day`."""
    day -= dt.timedelta(days=1)
    while not is_workday(day):
        day -= dt.timedelta(days=1)
    return day


def china_date(moment: dt.datetime) -> dt.date:
    """The calendar date in China of a stored (UTC) time."""
    return aware(moment).astimezone(CHINA).date()
