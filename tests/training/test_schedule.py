from cords_tune.training import SubsetSchedule


def test_reselects_every_r_epochs_after_the_warm_start():
    schedule = SubsetSchedule(every=3, warm_start_epochs=2)
    assert [e for e in range(12) if schedule.uses_full_data(e)] == [0, 1]
    assert [e for e in range(12) if schedule.selects_at(e)] == [2, 5, 8, 11]


def test_disabled_schedule_always_uses_the_full_data():
    schedule = SubsetSchedule(every=1, enabled=False)
    assert all(schedule.uses_full_data(e) and not schedule.selects_at(e) for e in range(5))


def test_rounds_count_the_selections_of_a_trial_and_round_at_names_each_epochs():
    schedule = SubsetSchedule(every=10, warm_start_epochs=2)
    assert [schedule.rounds(epochs) for epochs in (1, 2, 3, 12, 13, 30)] == [0, 0, 1, 1, 2, 3]
    assert [schedule.round_at(epoch) for epoch in (2, 11, 12, 29)] == [0, 0, 1, 2]
    assert sum(schedule.selects_at(epoch) for epoch in range(30)) == schedule.rounds(30)
