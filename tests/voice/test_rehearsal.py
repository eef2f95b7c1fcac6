import os
import threading
import time

import pytest

from xiaobao.voice.rehearsal import official_replies, official_sentences, prepare
from xiaobao.voice.speech import SpeechCache


def test_the_official_sentences_are_cut_as_the_audio_routes_cut_them_each_once():
    replies = ["工作日9:00至17:00。周六休息。", "周六休息。请预约。"]
    assert official_sentences(replies) == ["工作日9:00至17:00。", "周六休息。", "请预约。"]


def test_the_official_replies_are_the_knowledge_bases_answers(engine, kb):
    assert sorted(official_replies(kb)) == ["工作日9:00至17:00。", "明年实施。"]


@pytest.mark.slow
def test_official_replies_are_spoken_ahead_quietly_and_kept_exactly(speaker, tmp_path):
    speaker.official = SpeechCache(tmp_path / "official", None)
    try:
        replies = ["请拨打12345热线。", "工作日九点上班。"]
        done = {}
        # in a thread of its own, as `xiaobao serve` runs it: only that thread is made the lowest priority
        worker = threading.Thread(target=lambda: done.update(first=prepare(speaker, replies, quietly=True)))
        worker.start()
        worker.join(120)
        assert (done["first"].sentences, done["first"].made) == (2, 2)
        assert os.getpriority(os.PRIO_PROCESS, 0) < 19
        again = prepare(speaker, replies)
        assert (again.made, again.ready, again.removed) == (0, 2, 0)
        started = time.perf_counter()
        assert speaker.sentence_wav("请拨打12345热线。")[:4] == b"RIFF"
        assert time.perf_counter() - started < 0.05  # made ahead: no synthesis
        edited = prepare(speaker, ["请拨打12345热线。"])  # the other reply retired
        assert (edited.ready, edited.removed) == (1, 1)
        assert len(list((tmp_path / "official").glob("*.wav"))) == 1
    finally:
        speaker.official = None
