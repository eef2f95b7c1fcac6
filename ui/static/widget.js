// 小宝 on any portal page: one tag, <script src="https://小宝的地址/widget.js" defer></script>, puts a
// floating 小宝 button in the corner; it opens the citizens' chat page in a panel (an iframe of this
// server's /chat/, so the page talks to the same API and keeps its session in the browser). The portal's
// origin must be listed in XIAOBAO_FRAME_ANCESTORS, or the browser refuses to show the panel.
(() => {
  const origin = new URL(document.currentScript.src).origin;
  const corner = "position:fixed;right:16px;z-index:2147483000;";
  const button = document.createElement("button");
  button.id = "xiaobao-widget";
  button.type = "button";
  button.textContent = "问小宝";
  button.title = "打开小宝智能助手";
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "xiaobao-widget-panel");
  button.style.cssText = corner + "bottom:16px;padding:12px 18px;border:none;border-radius:24px;background:#ea580c;" +
    "color:#fff;font:600 16px/1.2 'PingFang SC','Microsoft YaHei',sans-serif;box-shadow:0 4px 12px rgba(0,0,0,.25);cursor:pointer;";
  let panel = null;
  button.addEventListener("click", () => {
    if (!panel) {
      panel = document.createElement("iframe");
      panel.id = "xiaobao-widget-panel";
      panel.title = "小宝 · 智慧好办";
      panel.src = origin + "/chat/";
      panel.allow = "microphone";
      panel.style.cssText = corner + "bottom:72px;width:min(420px,calc(100vw - 32px));height:min(720px,calc(100vh - 96px));" +
        "border:1px solid #d1d5db;border-radius:12px;background:#fff;box-shadow:0 8px 24px rgba(0,0,0,.25);";
      document.body.append(panel);
    } else {
      panel.hidden = !panel.hidden;
    }
    button.setAttribute("aria-expanded", String(!panel.hidden));
    button.textContent = panel.hidden ? "问小宝" : "收起小宝";
  });
  document.body.append(button);
})();
