// 小宝, the digital human of the chat page (ui/avatar.py). It speaks the answers to questions asked on
// this page: when an answer starts to appear, one request (GET …/turns/current/audio) streams the
// audio of each checked sentence as the server synthesises it, played in order with the sentence as
// the caption; its mouth follows the loudness of the audio being played; push-to-talk records a
// question and puts the transcript in the question box, to be read and corrected before it is sent.
// Nothing is sent anywhere but this server, nothing is loaded from elsewhere.
(() => {
  const HOLD_MS = 500; // a press longer than this is push-to-talk: releasing ends the recording
  const store = window.localStorage;
  const state = {
    muted: store.getItem("xb-muted") === "1",
    // folded until asked for on a phone, where the open card would cover the conversation
    folded: (store.getItem("xb-folded") ?? (window.matchMedia("(max-width: 640px)").matches ? "1" : "0")) === "1",
    speed: Number(store.getItem("xb-speed") || "1"),
    armed: false, // a question was sent from this page: its answer is spoken
    baseline: 0, // the bot bubbles there were when it was sent (older ones are not spoken)
    listening: null, // the AbortController of this answer's audio stream, once it is opened
    streaming: false, // that stream is still open: more sentences may come
    queue: [],
    playing: false,
    audio: null, // { context, analyser }
    recorder: null,
    pressedAt: 0,
  };

  const $ = (id) => document.getElementById(id);
  const root = () => $("xb-avatar");
  const caption = (text) => { if ($("xb-caption")) $("xb-caption").textContent = text; };
  const show = (name) => { if (root()) root().dataset.state = name; };
  const credentials = () => ({ id: root()?.dataset.session, key: root()?.dataset.key });

  function apply() {
    const el = root();
    if (!el) return;
    el.classList.toggle("folded", state.folded);
    $("xb-mute").setAttribute("aria-pressed", String(!state.muted)); // pressed: answers are read aloud
    $("xb-mute").textContent = state.muted ? "朗读：关" : "朗读：开";
    $("xb-speed").value = String(state.speed);
    $("xb-fold").setAttribute("aria-expanded", String(!state.folded));
  }

  // --- speaking ---------------------------------------------------------------------------------

  function audio() {
    if (!state.audio) {
      const context = new AudioContext();
      const analyser = context.createAnalyser();
      analyser.fftSize = 1024;
      analyser.connect(context.destination);
      state.audio = { context, analyser };
    }
    if (state.audio.context.state === "suspended") state.audio.context.resume();
    return state.audio;
  }

  // the answer's audio: one server-sent-event stream, an `audio` event per sentence ({text, wav})
  async function listen(controller) {
    const { id, key } = credentials();
    state.streaming = true;
    try {
      const response = await fetch(`/api/sessions/${encodeURIComponent(id)}/turns/current/audio`, {
        headers: { "X-Session-Key": key },
        signal: controller.signal,
      });
      if (!response.ok) throw new Error((await response.json().catch(() => ({}))).detail || "语音暂时不可用");
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] || "{}");
          if (event === "audio") say(data.text, data.wav);
          if (event === "error") throw new Error(data.detail);
        }
      }
    } catch (error) {
      if (error.name !== "AbortError") caption(`（${error.message}）`);
    } finally {
      state.streaming = false;
      if (!state.playing && !state.recorder) show("idle");
    }
  }

  function wavBuffer(base64) {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    return bytes.buffer;
  }

  function say(text, wav) {
    if (state.muted) return;
    state.queue.push({ text, wav: audio().context.decodeAudioData(wavBuffer(wav)) }); // decoded at once, played in order
    if (!state.playing) playNext();
  }

  async function playNext() {
    const next = state.queue.shift();
    if (!next) {
      state.playing = false;
      show(state.streaming ? "thinking" : "idle"); // between sentences: the next one is being synthesised
      return;
    }
    state.playing = true;
    try {
      const { context, analyser } = audio();
      const buffer = await next.wav;
      const source = context.createBufferSource();
      source.buffer = buffer;
      source.playbackRate.value = state.speed;
      source.connect(analyser);
      state.source = source;
      caption(next.text);
      show("speaking");
      moveMouth(analyser);
      source.onended = () => playNext();
      source.start();
    } catch (error) {
      caption(`（${error.message}）${next.text}`);
      playNext();
    }
  }

  function moveMouth(analyser) {
    const samples = new Float32Array(analyser.fftSize);
    const frame = () => {
      const mouth = $("xb-mouth");
      if (!mouth) return;
      if (!state.playing) {
        mouth.style.setProperty("--open", "0");
        return;
      }
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const open = Math.min(1, Math.sqrt(sum / samples.length) * 6);
      mouth.style.setProperty("--open", open.toFixed(2));
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  function stopSpeaking() {
    state.listening?.abort();
    state.queue = [];
    try { state.source?.stop(); } catch (_) { /* not started */ }
  }

  // --- following the chat -----------------------------------------------------------------------

  // the answer being streamed is a bare span; stored turns have a label (helpers' and notices' too)
  const writing = (bubble) => Boolean(bubble.querySelector("span.not-rated:not(.label)"));

  // once the answer to the question sent from this page starts to appear, its audio is asked for
  // (the server notes the answer's sentences from its start, so none is missed)
  function follow() {
    if (!state.armed) return;
    const bubbles = [...document.querySelectorAll("#chat .message.bot .message-content")].slice(state.baseline);
    const answering = !bubbles.length || writing(bubbles[bubbles.length - 1]);
    if (!state.playing && !state.recorder) show(answering ? "thinking" : "idle");
    if (bubbles.length && !state.listening && !state.muted) {
      state.listening = new AbortController();
      listen(state.listening);
    }
  }

  function asked() {
    if (!document.querySelector("#question textarea")?.value.trim()) return; // nothing is sent
    state.armed = true;
    state.baseline = document.querySelectorAll("#chat .message.bot").length;
    stopSpeaking();
    state.listening = null;
    if (!state.muted) audio(); // within the click: browsers let audio start only after a gesture
    show("thinking");
  }

  // --- push to talk -----------------------------------------------------------------------------

  async function startRecording() {
    stopSpeaking();
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (_) {
      caption("无法使用麦克风：请在浏览器中允许本页使用麦克风，或直接输入文字。");
      return;
    }
    const chunks = [];
    const recorder = new MediaRecorder(stream);
    recorder.ondataavailable = (event) => chunks.push(event.data);
    recorder.onstop = () => {
      stream.getTracks().forEach((track) => track.stop());
      transcribe(new Blob(chunks, { type: recorder.mimeType || "audio/webm" }));
    };
    state.recorder = recorder;
    recorder.start();
    show("listening");
    caption("请说出您的问题……说完再按一次（或松开）。");
  }

  function stopRecording() {
    if (state.recorder?.state === "recording") state.recorder.stop();
    state.recorder = null;
  }

  async function transcribe(blob) {
    show("thinking");
    caption("正在识别……");
    const { id, key } = credentials();
    const form = new FormData();
    form.append("audio", blob, "question.webm");
    try {
      const response = await fetch(`/api/sessions/${encodeURIComponent(id)}/transcription`, {
        method: "POST",
        headers: { "X-Session-Key": key },
        body: form,
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.detail || "语音识别暂时不可用，请输入文字。");
      const box = document.querySelector("#question textarea");
      box.value = body.text;
      box.dispatchEvent(new Event("input", { bubbles: true }));
      box.focus();
      caption(`我听到的是：“${body.text}”。可以修改后再按“发送”。`);
    } catch (error) {
      caption(error.message);
    }
    show("idle");
  }

  function press() {
    if (state.recorder) stopRecording();
    else {
      state.pressedAt = Date.now();
      startRecording();
    }
  }

  function release() {
    if (state.recorder && Date.now() - state.pressedAt > HOLD_MS) stopRecording();
  }

  // --- wiring (delegated: the avatar is re-rendered when the page's session changes) ------------

  document.addEventListener("pointerdown", (event) => {
    if (event.target.closest?.("#xb-talk")) { event.preventDefault(); press(); }
  });
  document.addEventListener("pointerup", (event) => { if (event.target.closest?.("#xb-talk")) release(); });
  document.addEventListener("keydown", (event) => {
    const key = event.key === "Enter" || event.key === " ";
    if (key && event.target.id === "xb-talk" && !event.repeat) { event.preventDefault(); press(); }
    if (event.key === "Enter" && !event.shiftKey && event.target.closest?.("#question")) asked();
  });
  document.addEventListener("keyup", (event) => {
    if ((event.key === "Enter" || event.key === " ") && event.target.id === "xb-talk") release();
  });
  document.addEventListener("click", (event) => {
    const target = event.target.closest?.("button");
    if (!target) return;
    if (target.id === "send") asked();
    if (target.id === "xb-mute") {
      state.muted = !state.muted;
      store.setItem("xb-muted", state.muted ? "1" : "0");
      if (state.muted) stopSpeaking();
    }
    if (target.id === "xb-fold" || target.id === "xb-unfold") {
      state.folded = target.id === "xb-fold";
      store.setItem("xb-folded", state.folded ? "1" : "0");
      if (state.folded) stopSpeaking();
      (state.folded ? $("xb-unfold") : $("xb-fold"))?.focus();
    }
    apply();
  });
  document.addEventListener("change", (event) => {
    if (event.target.id !== "xb-speed") return;
    state.speed = Number(event.target.value);
    store.setItem("xb-speed", String(state.speed));
  });
  new MutationObserver(() => {
    if (root() && !root().dataset.applied) { root().dataset.applied = "1"; apply(); }
    follow();
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
})();
