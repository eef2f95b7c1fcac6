// 小宝, the digital human of the chat page (ui/avatar.py). It speaks the answers to questions asked on
// this page, sentence by sentence as each checked sentence appears in the chat, with captions; its
// mouth follows the loudness of the audio being played; push-to-talk records a question and puts
// the transcript in the question box, to be read and corrected before it is sent. Nothing is sent
// anywhere but this server, nothing is loaded from elsewhere.
(() => {
  const END = /[^。！？；!?;\n]*[。！？；!?;\n]/g; // complete sentences
  const HOLD_MS = 500; // a press longer than this is push-to-talk: releasing ends the recording
  const store = window.localStorage;
  const state = {
    muted: store.getItem("xb-muted") === "1",
    // folded until asked for on a phone, where the open card would cover the conversation
    folded: (store.getItem("xb-folded") ?? (window.matchMedia("(max-width: 640px)").matches ? "1" : "0")) === "1",
    speed: Number(store.getItem("xb-speed") || "1"),
    armed: false, // a question was sent from this page: its answer is spoken
    baseline: 0, // the bot bubbles there were when it was sent (older ones are not spoken)
    spoken: [], // per bot bubble after the baseline: how many characters were queued for speech
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

  async function fetchSpeech(text) {
    const { id, key } = credentials();
    const response = await fetch(`/api/sessions/${encodeURIComponent(id)}/speech`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Session-Key": key },
      body: JSON.stringify({ text }),
    });
    if (!response.ok) throw new Error((await response.json().catch(() => ({}))).detail || "语音暂时不可用");
    return response.arrayBuffer();
  }

  function say(text) {
    if (state.muted) return;
    state.queue.push({ text, wav: fetchSpeech(text) }); // fetched at once, played in order
    if (!state.playing) playNext();
  }

  async function playNext() {
    const next = state.queue.shift();
    if (!next) {
      state.playing = false;
      show("idle");
      return;
    }
    state.playing = true;
    try {
      const { context, analyser } = audio();
      const buffer = await context.decodeAudioData(await next.wav);
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
    state.queue = [];
    try { state.source?.stop(); } catch (_) { /* not started */ }
  }

  // --- following the chat -----------------------------------------------------------------------

  function bubbleText(bubble) {
    const copy = bubble.cloneNode(true);
    // labels, sources and buttons are not read; nor is what Xiaobao is doing before its first sentence
    copy.querySelectorAll(".label, .progress, details, .message-buttons, button").forEach((n) => n.remove());
    return copy.textContent.trim();
  }

  // the answer being streamed is a bare span; stored turns have a label (helpers' and notices' too)
  const writing = (bubble) => Boolean(bubble.querySelector("span.not-rated:not(.label)"));

  // each checked sentence of the answer, once, as soon as it is in the chat
  function follow() {
    if (!state.armed) return;
    const bubbles = [...document.querySelectorAll("#chat .message.bot .message-content")].slice(state.baseline);
    const answering = !bubbles.length || writing(bubbles[bubbles.length - 1]);
    if (!state.playing && !state.recorder) show(answering ? "thinking" : "idle");
    bubbles.forEach((bubble, i) => {
      const text = bubbleText(bubble);
      const done = state.spoken[i] || 0;
      const finished = !writing(bubble) || i < bubbles.length - 1;
      const fresh = text.slice(done);
      const sentences = finished ? [fresh] : fresh.match(END) || [];
      for (const sentence of sentences) {
        if (sentence.trim()) say(sentence.trim());
        state.spoken[i] = (state.spoken[i] || 0) + sentence.length;
      }
    });
  }

  function asked() {
    if (!document.querySelector("#question textarea")?.value.trim()) return; // nothing is sent
    state.armed = true;
    state.baseline = document.querySelectorAll("#chat .message.bot").length;
    state.spoken = [];
    stopSpeaking();
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
