from app.evaluation.metrics import MethodScores, answer_in, format_comparisons, paired_difference


def test_answer_match_ignores_case_and_spacing() -> None:
    assert answer_in(["The band   RUSH formed in Toronto"], ["Rush"])
    assert not answer_in(["nothing here"], ["Rush", ""])


def test_method_scores_report_percentages_and_percentiles() -> None:
    scores = MethodScores()
    for k in scores.recall:
        scores.recall[k] += [1.0, 0.5]
    scores.answer_hits += [1.0, 0.0]
    scores.latencies_ms += [10.0, 30.0]
    row = scores.row()
    assert row["R@5"] == 75.0 and row["answer@5"] == 50.0 and row["p50 ms"] == 20.0


def test_paired_difference_interval_covers_the_mean_and_excludes_zero_for_a_clear_gain() -> None:
    better = [1.0] * 60 + [0.0] * 40
    worse = [1.0] * 40 + [0.0] * 60
    mean, low, high = paired_difference(better, worse)
    assert mean == 0.2 and 0 < low < mean < high
    mean, low, high = paired_difference(better, better)
    assert (mean, low, high) == (0.0, 0.0, 0.0)


def test_comparisons_report_only_methods_that_were_run() -> None:
    scores = {"dense": {"overall": MethodScores()}, "hybrid": {"overall": MethodScores()}}
    scores["dense"]["overall"].recall[5] = [0.0, 0.5, 1.0]
    scores["hybrid"]["overall"].recall[5] = [1.0, 1.0, 1.0]
    report = format_comparisons(scores)
    assert report.startswith("R@5 hybrid - dense: +50.0 points") and "hybrid-rrf" not in report
    scores["treehop"] = {"hotpotqa": MethodScores()}
    scores["dense"]["hotpotqa"] = MethodScores()
    scores["treehop"]["hotpotqa"].recall[5], scores["dense"]["hotpotqa"].recall[5] = [1.0, 0.5], [0.5, 0.5]
    report = format_comparisons(scores)
    assert "R@5 treehop - dense (hotpotqa): +25.0 points" in report and "2wikimultihopqa" not in report


def test_growth_log_times_each_thousand_passages_of_one_ingest() -> None:
    from app.evaluation.workspace import GrowthLog

    growth = GrowthLog(done=500, every=1000)  # an interrupted build had finished 500 passages
    growth.advance(600)
    assert growth.steps == []
    growth.advance(400)
    growth.advance(1200)
    assert [(s["in_workspace"], s["passages"]) for s in growth.steps] == [(500, 1000), (1500, 1200)]
    assert len(growth.table()) == 3  # header + one line per step
