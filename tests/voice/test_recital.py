import threading
import time
from types import SimpleNamespace

import pytest

from xiaobao.voice.recital import Recital, Recitals


def test_a_follower_gets_each_sentence_as_it_is_added_from_the_first():
    recital = Recital()
    recital.add("您好！")
    heard = []

    def listen():
        for sentence in recital.follow():
            heard.append(sentence)

    follower = threading.Thread(target=listen)
    follower.start()
    recital.add("请带身份证。")
    waited = time.monotonic()
    while len(heard) < 2 and time.monotonic() - waited < 5:
        time.sleep(0.01)
    assert heard == ["您好！", "请带身份证。"]  # as soon as it was added, before the answer ended
    recital.finish("您好！请带身份证。另请预约。")  # the rest of the reply past what was shown
    follower.join(2)
    assert not follower.is_alive() and heard == ["您好！", "请带身份证。", "另请预约。"]
    assert list(recital.follow()) == heard  # a late follower hears it all, and it ends


def test_a_reply_without_sentences_is_spoken_whole_and_long_sentences_are_cut():
    recital = Recital()
    long = "需要携带身份证、户口本、" + "租赁合同" * 14 + "，以及照片。"
    recital.finish(f"工作日9:00至17:00。{long}")
    spoken = list(recital.follow())
    assert spoken[0] == "工作日9:00至17:00。" and "".join(spoken[1:]) == long and len(spoken) > 2


def test_a_stream_that_dies_ends_its_followers():
    recital = Recital()
    recital.add("第一句。")
    assert list(recital.follow(quiet_for=0.2)) == ["第一句。"]  # nothing more came: it stops waiting
    recital.finish()
    recital.add("太晚了。")
    assert list(recital.follow()) == ["第一句。"]


def test_tee_passes_the_events_on_and_notes_the_answer():
    recitals = Recitals(sessions=2)
    events = [("status", "正在查找"), ("sentence", "第一句。"), ("final", SimpleNamespace(text="第一句。第二句。"))]
    assert recitals.latest("s1") is None
    passed = list(recitals.tee("s1", iter(events)))
    assert passed == events
    assert list(recitals.latest("s1").follow()) == ["第一句。", "第二句。"]


def test_a_failed_stream_ends_the_recital_and_only_recent_sessions_are_kept():
    recitals = Recitals(sessions=2)

    def failing():
        yield "sentence", "第一句。"
        raise RuntimeError("model gone")

    with pytest.raises(RuntimeError):
        list(recitals.tee("s1", failing()))
    assert list(recitals.latest("s1").follow(quiet_for=5)) == ["第一句。"]  # ended, not left waiting
    recitals.begin("s2")
    recitals.begin("s3")
    assert recitals.latest("s1") is None and recitals.latest("s3") is not None
