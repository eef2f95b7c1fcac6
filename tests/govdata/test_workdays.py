import datetime as dt

from xiaobao.govdata.workdays import add_working_days, china_date, is_workday, previous_working_day


def test_due_dates_skip_national_day_and_count_the_adjusted_saturday():
    # 2026: 1–7 October off; Sunday 20 September and Saturday 10 October are working days (调休)
    assert not is_workday(dt.date(2026, 10, 5)) and is_workday(dt.date(2026, 10, 10)) and is_workday(dt.date(2026, 9, 20))
    assert add_working_days(dt.date(2026, 9, 30), 5) == dt.date(2026, 10, 13)  # 8, 9, 10 (Sat), 12, 13
    assert add_working_days(dt.date(2026, 9, 18), 2) == dt.date(2026, 9, 21)  # Fri → Sun 20 (调休) → Mon 21
    assert previous_working_day(dt.date(2026, 10, 8)) == dt.date(2026, 9, 30)


def test_spring_festival():
    # 2026 Spring Festival: 15–23 February off, Saturday 14 and Saturday 28 February worked
    assert add_working_days(dt.date(2026, 2, 13), 1) == dt.date(2026, 2, 14)
    assert add_working_days(dt.date(2026, 2, 14), 1) == dt.date(2026, 2, 24)


def test_a_year_without_a_published_schedule_falls_back_to_weekdays_and_fixed_holidays():
    assert add_working_days(dt.date(2027, 12, 30), 2) == dt.date(2028, 1, 3)  # 31 Dec (Fri), 1 Jan (Sat) …, 3 Jan (Mon)
    assert not is_workday(dt.date(2027, 10, 1)) and is_workday(dt.date(2027, 10, 4))


def test_stored_utc_times_are_dated_in_china():
    assert china_date(dt.datetime(2026, 9, 30, 17, 0)) == dt.date(2026, 10, 1)  # 01:00 on 1 October in Shanghai
