from cords_tune.training import SubsetSchedule


def test_reselects_every_r_epochs_after_the_warm_start():
    schedule = SubsetSchedule(every=3, warm_start_epochs=2)
    assert [e for e in range(12) if schedule.uses_full_data(e)] == [0, 1]
    assert [e for e in range(12) if schedule.selects_at(e)] == [2, 5, 8, 11]


def test_disabled_schedule_always_uses_the_full_data():
    schedule = SubsetSchedule(every=1, enabled=False)
    assert all(schedule.uses_full_data(e) and not schedule.selects_at(e) for e in range(5))
