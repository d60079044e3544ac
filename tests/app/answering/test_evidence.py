"""Evidence selection gives the model the sentences closest to the question, with document offsets."""
from __future__ import annotations

from app.answering.evidence import cited_chunks, select_sentences
from index.types import Hit


def test_the_sentence_holding_the_answer_is_selected_first_with_document_offsets(embedder):
    document = "Preface.\nThe mill was built in 1790. It grinds rye and wheat. The miller is Jonas Berg."
    start = document.index("The mill")
    mill = Hit(chunk_id=3, source="mill.txt", text=document[start:], start=start, end=len(document), score=1, similarity=0.5)
    other = Hit(chunk_id=9, source="bread.txt", text="Bread is baked daily. Rye bread is dark.", start=0, end=40,
                score=0.5, similarity=0.3)
    evidence = select_sentences("Who is the miller?", [mill, other], embedder, 2)
    assert evidence[0].text == "The miller is Jonas Berg."
    assert document[evidence[0].start:evidence[0].end] == evidence[0].text
    assert len(evidence) == 2
    assert [h.chunk_id for h in cited_chunks(evidence, [mill, other])] == list(dict.fromkeys(e.chunk_id for e in evidence))


def test_headings_and_fragments_are_not_evidence(embedder):
    text = "# How to bake bread\nSteps:\nTo bake bread, knead the dough and bake it at 220 degrees."
    hit = Hit(chunk_id=1, source="b.md", text=text, start=0, end=len(text), score=1, similarity=0.5)
    evidence = select_sentences("How do I bake bread?", [hit], embedder, 3)
    assert [e.text for e in evidence] == ["To bake bread, knead the dough and bake it at 220 degrees."]


def test_a_question_in_the_documents_is_not_evidence_for_itself(embedder):
    text = 'Example:\n\n$ ragqa ask "How do I bake bread?"\n\nTo bake bread, knead the dough and bake it at 220 degrees.'
    hit = Hit(chunk_id=1, source="b.md", text=text, start=0, end=len(text), score=1, similarity=0.5)
    evidence = select_sentences("How do I bake bread?", [hit], embedder, 3)
    assert [e.text for e in evidence] == ["To bake bread, knead the dough and bake it at 220 degrees."]


def test_sentences_are_ranked_by_the_int8_embedder_and_it_picks_the_same_sentence(embedder, settings):
    from app.answering.evidence import sentence_embedder

    ranker = sentence_embedder(settings, embedder)
    assert ranker is not embedder and ranker.name.endswith("@int8")  # the default: a faster copy of the same model
    assert sentence_embedder(settings, embedder) is ranker  # loaded once per process
    assert sentence_embedder(settings.model_copy(update={"evidence_embedding_backend": "index"}), embedder) is embedder
    document = "The mill was built in 1790. It grinds rye and wheat. The miller is Jonas Berg. Bread is baked daily."
    hit = Hit(chunk_id=3, source="mill.txt", text=document, start=0, end=len(document), score=1, similarity=0.5)
    by_int8 = select_sentences("Who is the miller?", [hit], ranker, 4)
    by_index = select_sentences("Who is the miller?", [hit], embedder, 4)
    assert by_int8[0].text == by_index[0].text == "The miller is Jonas Berg."
    assert abs(by_int8[0].similarity - by_index[0].similarity) < 0.05


def test_a_model_the_onnx_export_cannot_run_ranks_with_the_index_embedder(tmp_path, settings):
    """A CLS-pooling model runs only with RAGQA_EMBEDDING_BACKEND=torch; the sentence ranking then uses it too."""
    import json
    import shutil

    from app.answering.evidence import sentence_embedder
    from index.embedder import Embedder, resolve_embedding_model

    model = tmp_path / "cls-model"
    shutil.copytree(resolve_embedding_model(settings.embedding_model), model)
    pooling = model / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text()) | {"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}
    pooling.write_text(json.dumps(config))
    custom = settings.model_copy(update={"embedding_model": str(model), "embedding_backend": "torch"})
    index_embedder = Embedder.from_settings(custom)
    assert sentence_embedder(custom, index_embedder) is index_embedder  # not an error the user cannot act on
    hit = Hit(chunk_id=1, source="m.txt", text="The mill was built in 1790. The miller is Jonas Berg.", start=0, end=52,
              score=1, similarity=0.5)
    assert len(select_sentences("Who is the miller?", [hit], index_embedder, 2)) == 2


def test_what_is_a_term_ranks_the_sentence_that_defines_it_before_one_that_only_uses_it(embedder):
    text = ("There is a main thread object. It is not a daemon thread. "
            "A thread can be flagged as a “daemon thread”. The whole program exits when only daemon threads are left.")
    hit = Hit(chunk_id=1, source="threads.txt", text=text, start=0, end=len(text), score=1, similarity=0.5)
    evidence = select_sentences("What is a daemon thread?", [hit], embedder, 4, rare_words={"daemon": 2.0, "thread": 1.0})
    assert evidence[0].text == "A thread can be flagged as a “daemon thread”."
