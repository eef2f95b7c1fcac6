from xiaobao.knowledge.lexical import BM25Encoder, Tokenizer, token_id


def test_tokens_drop_stop_words_and_punctuation(tmp_path):
    tokens = Tokenizer(tmp_path).tokens("请问，个体工商户怎么办理营业执照？")
    assert "工商户" in tokens and "营业执照" in tokens
    assert not {"请问", "怎么", "，", "？"} & set(tokens)


def test_search_mode_adds_sub_words(tmp_path):
    assert {"中华", "人民", "共和国", "中华人民共和国"} <= set(Tokenizer(tmp_path).tokens("中华人民共和国"))


def test_bm25_saturates_term_frequency_and_normalises_length(tmp_path):
    encoder = BM25Encoder(Tokenizer(tmp_path), k1=1.2, b=0.75, avg_len=4)
    once, twice, long = encoder.encode_documents(["津贴", "津贴 津贴", "津贴 " + "标准 " * 20])
    key = token_id("津贴")
    assert once[key] < twice[key] < 2.2  # more occurrences help, with diminishing returns (bound k1+1)
    assert long[key] < once[key]  # the same term counts less in a long chunk


def test_query_vector_has_unit_weights(tmp_path):
    query = BM25Encoder(Tokenizer(tmp_path)).encode_query("津贴 津贴 发放")
    assert sorted(query.values()) == [1.0, 1.0]
