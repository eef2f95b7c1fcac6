from xiaobao.assistant.citations import check
from xiaobao.knowledge.lexical import Tokenizer

PASSAGES = ["高龄老人综合津贴按照年龄分档发放：90周岁至99周岁每人每月400元。", "居住证办理需要身份证和居住证明。"]


def test_supported_sentences_keep_their_citations(tmp_path):
    result = check("90周岁至99周岁的老人每月可领400元[1]。办理居住证需要身份证和居住证明。[2]", PASSAGES, Tokenizer(tmp_path))
    assert result.text == "90周岁至99周岁的老人每月可领400元[1]。办理居住证需要身份证和居住证明[2]。"
    assert (result.kept, result.attributed, result.numbers) == (2, 0, [1, 2])


def test_invented_content_and_wrong_numbers_are_cut(tmp_path):
    tokenizer = Tokenizer(tmp_path)
    assert check("90周岁老人每月可以领取津贴500元[1]。", PASSAGES, tokenizer).kept == 0  # a number not in the passage
    assert check("办理居住证还需要房产证和营业执照[2]。", PASSAGES, tokenizer).kept == 0  # terms not in the passage
    assert check("这是编的。", PASSAGES, tokenizer).dropped == ["这是编的。"]


def test_a_missing_or_wrong_mark_is_replaced_by_the_supporting_passage(tmp_path):
    tokenizer = Tokenizer(tmp_path)
    missing = check("九十岁老人每月领400元高龄津贴。", ["年满九十周岁的老人每人每月领取高龄津贴400元。"], tokenizer)
    assert (missing.text, missing.attributed) == ("九十岁老人每月领400元高龄津贴[1]。", 1)
    wrong = check("办理居住证需要身份证和居住证明[1]。", PASSAGES, tokenizer)
    assert (wrong.text, wrong.numbers) == ("办理居住证需要身份证和居住证明[2]。", [2])


def test_marks_in_other_styles_and_out_of_range(tmp_path):
    result = check("办理居住证需要身份证和居住证明【2】。", PASSAGES, Tokenizer(tmp_path))
    assert result.text.endswith("[2]。")
    assert check("办理居住证需要身份证和居住证明[9]。", PASSAGES, Tokenizer(tmp_path)).numbers == [2]


def test_an_invented_title_is_cut(kb):
    from xiaobao.assistant.citations import check

    passages = ["《示例区高龄津贴办法》第一条：年满九十周岁的老人每月领取400元。"]
    answer = "根据《示例区新生儿十万元奖励办法》，九十周岁老人每月领取400元[1]。年满九十周岁的老人每月领取400元[1]。"
    checked = check(answer, passages, kb.tokenizer)
    assert checked.kept == 1 and "十万元" not in checked.text


def test_generic_words_do_not_support_a_sentence_on_another_topic(tmp_path):
    tokenizer = Tokenizer(tmp_path)
    passage = ["企业设立登记可在宝山区政务服务中心窗口办理，地址：宝山区示例路100号。"]
    assert check("宝山区养犬登记可在政务服务中心窗口办理[1]。", passage, tokenizer).kept == 0  # 养犬 is not in the passage
    assert check("宝山区人才补贴可在政务服务中心窗口办理[1]。", passage, tokenizer).kept == 0
    kept = check("企业设立登记可在宝山区政务服务中心窗口办理[1]。", passage, tokenizer)
    assert kept.kept == 1


def test_internal_ids_never_reach_the_citizen(tmp_path):
    from xiaobao.assistant.citations import scrub_ids

    passages = ["资料：企业设立登记可在宝山区政务服务中心窗口办理。"]
    result = check("根据资料 bj-faq-1203，企业设立登记可在宝山区政务服务中心窗口办理（qa-0025）[1]。", passages, Tokenizer(tmp_path))
    assert result.kept == 1
    for leaked in ("bj-faq", "qa-0025", "1203"):
        assert leaked not in result.text
    assert scrub_ids("答复口径 qa-0025：见 kb-00001 与 record:bj-faq-3。申请编号 BS20241234") == "答复口径：见 与。申请编号 BS20241234"
