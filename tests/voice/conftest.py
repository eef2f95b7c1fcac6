import pytest

from xiaobao.assistant.model_files import KOKORO_82M, WHISPER_BASE, prepare_model
from xiaobao.voice.listening import Listener
from xiaobao.voice.speech import Speaker, SpeechCache


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    """The real voice models, joined from their installed packages once for the whole run."""
    folder = tmp_path_factory.mktemp("voice-models")
    prepare_model(KOKORO_82M, folder)
    prepare_model(WHISPER_BASE, folder)
    return folder


@pytest.fixture(scope="session")
def speaker(models_dir, tmp_path_factory):
    return Speaker(prepare_model(KOKORO_82M, models_dir), "zf_xiaobei", 1.0, 2, SpeechCache(tmp_path_factory.mktemp("speech"), 50))


@pytest.fixture(scope="session")
def listener(models_dir):
    return Listener(prepare_model(WHISPER_BASE, models_dir).parent, 2, 30)


@pytest.fixture
def voiced(services, models_dir):
    """The test services with voice on, their models folder holding the voice models already joined."""
    services.settings = services.settings.model_copy(update={"voice": True})
    services.settings.models_dir.mkdir(parents=True)
    for path in models_dir.iterdir():
        (services.settings.models_dir / path.name).symlink_to(path)
    return services
