"""The explanatory set's scores: key-point recall and ROUGE-L F1, on answers with citation markers."""
from __future__ import annotations

import json

from bench.explain_set import is_explain_file, key_point_recall, load_explain_questions, rouge_l_f1, word_count

KEY_POINTS = (("Pittsburgh Steelers", "Steelers"), ("final three minutes", "11 points"), ("Patriots",))


def test_key_point_recall_counts_groups_with_any_phrasing_case_insensitive():
    assert key_point_recall("They beat the steelers [1] and the Patriots. [2]", KEY_POINTS) == 2 / 3
    assert key_point_recall("Scoring 11 POINTS late, they beat the Steelers and Patriots.", KEY_POINTS) == 1.0
    assert key_point_recall("They won.", KEY_POINTS) == 0.0


def test_rouge_l_ignores_markers_and_case():
    assert rouge_l_f1("The cat sat on the mat. [1]", "the cat sat on the mat.") == 1.0
    assert 0 < rouge_l_f1("the cat sat", "the cat sat on the mat") < 1
    assert rouge_l_f1("", "anything") == 0.0
    assert word_count("Two words. [1] [2]") == 2


def test_an_explanatory_file_is_told_from_a_squad_file(tmp_path):
    explain = tmp_path / "explain.json"
    explain.write_text(json.dumps({"questions": [
        {"id": "q1", "article": "A.txt", "kind": "why", "question": "Why?", "reference": "Because.",
         "key_points": [["because"]]}]}))
    squad = tmp_path / "squad.json"
    squad.write_text(json.dumps({"data": []}))
    assert is_explain_file(explain) and not is_explain_file(squad)
    [question] = load_explain_questions(explain)
    assert question.kind == "why" and question.key_points == (("because",),) and question.title == "A.txt"
