// 工作人员控制台的共用脚本：请求接口、未登录时跳转登录页、提示信息。
async function api(method, url, body, isForm) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    if (isForm) options.body = body;
    else { options.headers["Content-Type"] = "application/json"; options.body = JSON.stringify(body); }
  }
  const response = await fetch(url, options);
  if (response.status === 401) { location.href = "/staff/login?next=" + encodeURIComponent(location.pathname); throw new Error("请先登录"); }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = Array.isArray(data.detail) ? data.detail.map(d => d.msg).join("；") : (data.detail || response.statusText);
    throw new Error(detail);
  }
  return data;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  return node;
}

function toast(message, isError) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.style.background = isError ? "#b91c1c" : "#111827";
  box.style.display = "block";
  clearTimeout(box._timer);
  box._timer = setTimeout(() => (box.style.display = "none"), 3500);
}

// run an action, show its error instead of failing silently
async function attempt(action, success) {
  try { const result = await action(); if (success) toast(success); return result; }
  catch (error) { toast(error.message, true); }
}

// ask for one text in a proper dialog (the browser's prompt() is unlabelled and cannot be styled);
// resolves to the trimmed text, or null when cancelled or left empty
function ask(title, label) {
  return new Promise((resolve) => {
    const input = el("textarea", { rows: 3, required: true, "aria-label": label });
    const dialog = el("dialog", { class: "ask", "aria-label": title },
      el("form", { method: "dialog" }, el("h3", {}, title), el("label", {}, label, input),
        el("div", { class: "row" }, el("button", { value: "ok", class: "primary" }, "确定"), el("button", { value: "cancel", formnovalidate: true }, "取消"))));
    dialog.addEventListener("close", () => { dialog.remove(); resolve(dialog.returnValue === "ok" && input.value.trim() ? input.value.trim() : null); });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  seconds = Math.round(seconds);
  return seconds < 60 ? `${seconds} 秒` : `${Math.floor(seconds / 60)} 分 ${seconds % 60} 秒`;
}

function time(iso) { return iso ? new Date(iso).toLocaleString("zh-CN", { hour12: false }) : "—"; }

async function startPage(role) {
  const me = await api("GET", "/api/staff/me");
  document.getElementById("who").textContent = `${me.display_name}（${me.role_name}）`;
  document.getElementById("logout").onclick = async () => { await api("POST", "/api/staff/logout"); location.href = "/staff/login"; };
  return me;
}
