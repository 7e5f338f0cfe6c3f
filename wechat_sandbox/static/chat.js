// The sandbox chat page: one member's WeChat conversation with the account, driven by the control API.
"use strict";

const CHANNEL_LABELS = {
  passive: "被动回复", custom: "客服消息", template: "模板消息", subscribe: "订阅通知", mass: "群发",
};
const POLL_MS = 500;

const view = {
  openid: localStorage.getItem("sandbox.openid") || "",
  members: [],
  lastMessageSeq: 0,
  lastCallSeq: 0,
  lastCallbackSeq: 0,
  lastSmsSeq: 0,
  lastShownAt: 0,
  accountName: "公众号",
  menuKey: "",
  subscribeTemplates: {},
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined) continue;   // setAttribute(…, null) would set "null"
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

async function call(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error((data && data.error) || response.statusText);
  return data;
}

function currentMember() {
  return view.members.find((m) => m.openid === view.openid);
}

function clockText(seconds) {
  // The platform's time (its days and calendar months), whatever the browser's time zone.
  return new Date(seconds * 1000).toLocaleString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
}

// -- personas ---------------------------------------------------------------------------------------
async function loadMembers() {
  view.members = await call("GET", "/sandbox/members");
  const select = $("persona-select");
  const chosen = view.openid;
  select.replaceChildren(el("option", { value: "" }, "— choose a member —"),
    ...view.members.map((m) => el("option", { value: m.openid },
      `${m.nickname} · ${m.openid.slice(0, 10)}… ${m.subscribed ? "" : "(未关注)"}`)));
  select.value = view.members.some((m) => m.openid === chosen) ? chosen : "";
  if (select.value !== chosen) choosePersona(select.value);
  showPersona();
}

function choosePersona(openid) {
  view.openid = openid;
  localStorage.setItem("sandbox.openid", openid);
  view.lastMessageSeq = 0;
  view.lastSmsSeq = 0;
  view.lastShownAt = 0;
  $("conversation").replaceChildren();
  $("sms").replaceChildren();
  showPersona();
  pollConversation();
  pollSms();
}

function showPersona() {
  const member = currentMember();
  $("no-persona").classList.toggle("hidden", Boolean(member));
  $("follow-bar").classList.toggle("hidden", !member || member.subscribed);
  $("menu-bar").classList.toggle("hidden", !member || !member.subscribed || view.keyboard);
  $("input-bar").classList.toggle("hidden", !member || !member.subscribed || !view.keyboard);
  $("unfollow-button").disabled = !member || !member.subscribed;
  if (!member) {
    $("persona-status").textContent = "";
    return;
  }
  const w = member.window;
  const window = w && w.open ? `客服窗口: ${w.action}, ${w.used}/${w.limit} used, closes ${clockText(w.closes_at)}`
                             : "客服窗口: closed";
  $("persona-status").textContent =
    `${member.subscribed ? "已关注" : "未关注"} · ${window} · 群发 ${member.mass.count}/4 in ${member.mass.month || "—"}` +
    (member.phone ? ` · ☎ ${member.phone}` : "");
}

async function createPersona(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const member = await call("POST", "/sandbox/members", {
    nickname: form.get("nickname"), openid: form.get("openid") || undefined, phone: form.get("phone"),
    follow: form.get("follow") === "on",
  });
  event.target.reset();
  $("new-persona").open = false;
  view.openid = member.openid;
  await loadMembers();
  choosePersona(member.openid);
}

// -- member actions ------------------------------------------------------------------------------------
async function act(action, body = {}) {
  if (!view.openid) return;
  const pending = call("POST", `/sandbox/members/${encodeURIComponent(view.openid)}/${action}`, body);
  setTimeout(pollConversation, 50);
  try {
    await pending;
  } catch (error) {
    showEvent(`⚠ ${error.message}`);
  }
  await loadMembers();
  pollConversation();
}

function sendText(event) {
  event.preventDefault();
  const input = $("text-input");
  const content = input.value.trim();
  if (!content) return;
  input.value = "";
  act("text", { content });
}

// -- the menu the bot created ---------------------------------------------------------------------------
async function loadMenu() {
  const menu = await call("GET", "/sandbox/menu");
  const key = JSON.stringify(menu);
  if (key === view.menuKey) return;
  view.menuKey = key;
  const buttons = (menu && menu.button) || [];
  $("menu-buttons").replaceChildren(...buttons.map((button) => {
    const subs = button.sub_button || [];
    return el("button", {
      class: subs.length ? "has-sub" : "",
      onclick: (event) => (subs.length ? openSubmenu(event.currentTarget, subs) : tapButton(button)),
    }, button.name);
  }));
  if (!buttons.length) {
    $("menu-buttons").append(el("span", { class: "muted", style: "margin:auto" }, "no menu yet (menu/create)"));
  }
}

function openSubmenu(anchor, subs) {
  const menu = $("submenu");
  if (!menu.classList.contains("hidden") && menu.dataset.anchor === anchor.textContent) {
    menu.classList.add("hidden");
    return;
  }
  menu.dataset.anchor = anchor.textContent;
  menu.replaceChildren(...subs.map((sub) => el("button", {
    onclick: () => { menu.classList.add("hidden"); tapButton(sub); },
  }, sub.name)));
  menu.style.left = `${anchor.offsetLeft + 8}px`;
  menu.classList.remove("hidden");
}

function tapButton(button) {
  if (button.type === "view") act("view", { url: button.url });
  else act("click", { key: button.key || button.name });
}

// -- the conversation --------------------------------------------------------------------------------------
async function pollConversation() {
  if (!view.openid) return;
  const openid = view.openid;
  const entries = await call("GET",
    `/sandbox/members/${encodeURIComponent(openid)}/messages?after=${view.lastMessageSeq}`).catch(() => []);
  if (openid !== view.openid) return;
  for (const entry of entries) {
    if (entry.seq <= view.lastMessageSeq) continue;
    view.lastMessageSeq = entry.seq;
    showEntry(entry);
  }
}

function showEntry(entry) {
  const box = $("conversation");
  if (entry.at - view.lastShownAt > 300) box.append(el("div", { class: "time" }, clockText(entry.at)));
  view.lastShownAt = entry.at;
  const message = entry.message;
  if (entry.direction === "system") {
    box.append(el("div", { class: "notice" }, el("span", {}, message.text.content)));
  } else if (entry.direction === "in" && message.msgtype === "event") {
    box.append(el("div", { class: "event" }, describeEvent(message)));
  } else {
    box.append(bubble(entry));
  }
  box.scrollTop = box.scrollHeight;
}

function showEvent(text) {
  const box = $("conversation");
  box.append(el("div", { class: "event" }, text));
  box.scrollTop = box.scrollHeight;
}

function describeEvent(message) {
  switch (message.event) {
    case "subscribe": return message.event_key ? `你扫码关注了公众号（${message.event_key}）` : "你关注了公众号";
    case "unsubscribe": return "你取消了关注";
    case "SCAN": return `你扫描了二维码（${message.event_key}）`;
    case "CLICK": return `你点击了菜单（${message.event_key}）`;
    case "VIEW": return `你打开了链接 ${message.event_key}`;
    case "subscribe_msg_popup_event": return `订阅通知：${message.event_key}`;
    default: return message.event;
  }
}

function bubble(entry) {
  const incoming = entry.direction === "in";
  const member = currentMember();
  const avatarText = incoming ? (member ? member.nickname.slice(0, 1) : "我") : view.accountName.slice(0, 1);
  const label = incoming ? null : el("div", { class: "channel" }, CHANNEL_LABELS[entry.channel] || entry.channel);
  return el("div", { class: `msg ${incoming ? "in" : "out"}` },
    el("div", { class: "avatar" }, avatarText),
    el("div", { class: "body" }, label, content(entry.message)));
}

function content(message) {
  switch (message.msgtype) {
    case "text":
      return el("div", { class: "bubble" }, message.text.content);
    case "image":
      return el("div", { class: "bubble image" },
        el("img", { src: `/sandbox/media/${encodeURIComponent(message.image.media_id)}`, alt: "image" }));
    case "template":
      return serviceNotice(message.notice);
    case "mpnews":
      return el("div", { class: "bubble" }, "[图文消息] ", message.mpnews.media_id.slice(0, 12));
    default:
      return el("div", { class: "bubble" }, `[${message.msgtype}]`);
  }
}

function serviceNotice(notice) {
  // As WeChat shows template and subscribe messages: title, one line per keyword, 「详情」 for a link.
  const rows = notice.fields.map((field) => el("div", { class: "field" },
    el("span", { class: "label" }, field.label), el("span", { class: "value" }, field.value)));
  return el("div", { class: "card-msg" }, el("h4", {}, notice.title), el("div", { class: "fields" }, ...rows),
    notice.details ? el("div", { class: "more-link" }, el("span", {}, "详情"), el("span", {}, "›")) : null);
}

// -- QR codes -------------------------------------------------------------------------------------------------
async function loadQrCodes() {
  const codes = await call("GET", "/sandbox/qrcodes");
  const list = $("qr-list");
  if (!codes.length) return;
  const key = JSON.stringify(codes.map((c) => [c.ticket, c.expired]));
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(...codes.slice(-20).reverse().map((code) => el("div", { class: `qr ${code.expired ? "expired" : ""}` },
    el("img", { src: `/cgi-bin/showqrcode?ticket=${encodeURIComponent(code.ticket)}`, alt: code.scene }),
    el("div", {}, code.scene),
    el("div", { class: "muted" }, code.expires_at ? (code.expired ? "expired" : `until ${clockText(code.expires_at)}`) : "permanent"),
    el("button", { class: "small", disabled: code.expired ? "" : null,
                   onclick: () => act("scan", { ticket: code.ticket }) }, "扫一扫"))));
}

// -- subscribe-message consent ------------------------------------------------------------------------------
async function openConsent() {
  if (!view.openid) return;
  view.subscribeTemplates = (await call("GET", "/sandbox/templates")).subscribe;
  $("consent-account").textContent = view.accountName;
  $("consent-form").replaceChildren(...Object.entries(view.subscribeTemplates).map(([id, title]) =>
    el("label", {}, el("input", { type: "checkbox", name: "template", value: id, checked: "" }), ` ${title}`)));
  $("consent-modal").classList.remove("hidden");
}

function answerConsent(accept) {
  const ids = [...$("consent-form").querySelectorAll("input:checked")].map((input) => input.value);
  $("consent-modal").classList.add("hidden");
  if (ids.length) act("consent", { template_ids: ids, accept });
}

// -- records: API calls, callbacks, SMS ------------------------------------------------------------------------
function logLine(ok, code, text, detail) {
  return el("li", {}, el("span", { class: `code ${ok ? "ok" : "err"}` }, code),
    el("span", {}, text), el("span", { class: "detail" }, detail));
}

async function pollCalls() {
  const calls = await call("GET", `/sandbox/calls?after=${view.lastCallSeq}`).catch(() => []);
  const log = $("calls");
  for (const record of calls) {
    view.lastCallSeq = record.seq;
    const code = record.errcode === null ? "drop" : String(record.errcode);
    const who = record.openid ? ` → ${record.openid.slice(0, 10)}…` : "";
    log.append(logLine(record.errcode === 0, code, `${record.endpoint}${who}`,
      `${record.errmsg} ${JSON.stringify(record.detail)} ${record.ms} ms`));
  }
  trim(log);
  if (calls.length) log.scrollTop = log.scrollHeight;
}

async function pollCallbacks() {
  const records = await call("GET", `/sandbox/callbacks?after=${view.lastCallbackSeq}`).catch(() => []);
  const log = $("callbacks");
  for (const record of records) {
    if (record.outcome === "pending") break;
    view.lastCallbackSeq = record.seq;
    const what = record.event || record.msgtype;
    log.append(logLine(record.outcome !== "failed", record.outcome,
      `${what} ×${record.attempts}`, record.error || JSON.stringify(record.reply || "")));
  }
  trim(log);
}

async function pollSms() {
  const member = currentMember();
  if (!member || !member.phone) return;
  const messages = await call("GET",
    `/sandbox/sms?phone=${encodeURIComponent(member.phone)}&after=${view.lastSmsSeq}`).catch(() => []);
  if (member.openid !== view.openid) return;
  for (const sms of messages) {
    if (sms.seq <= view.lastSmsSeq) continue;             // a poll that overlapped another
    view.lastSmsSeq = sms.seq;
    $("sms").append(logLine(true, "SMS", `${sms.phone} · ${clockText(sms.at)}`, sms.text));
  }
}

function trim(log) {
  while (log.children.length > 500) log.firstChild.remove();
}

// -- clock and account ----------------------------------------------------------------------------------------
async function loadState() {
  const state = await call("GET", "/sandbox/state");
  view.accountName = state.account_name;
  $("account-name").textContent = state.account_name;
  $("clock-local").textContent = clockText(state.clock.now);
  const hours = state.clock.offset / 3600;
  $("clock-offset").textContent = state.clock.offset ? `(${hours >= 0 ? "+" : ""}${hours.toFixed(1)} h)` : "(real time)";
}

async function moveClock(body) {
  await call("POST", "/sandbox/clock", body);
  await loadState();
  await loadMembers();
}

// -- wiring -------------------------------------------------------------------------------------------------------
function wire() {
  $("persona-select").addEventListener("change", (event) => choosePersona(event.target.value));
  $("persona-form").addEventListener("submit", (event) => createPersona(event).catch((e) => alert(e.message)));
  $("follow-button").addEventListener("click", () => act("follow"));
  $("unfollow-button").addEventListener("click", () => act("unfollow"));
  $("input-bar").addEventListener("submit", sendText);
  $("to-keyboard").addEventListener("click", () => { view.keyboard = true; showPersona(); $("text-input").focus(); });
  $("to-menu").addEventListener("click", () => { view.keyboard = false; showPersona(); });
  $("ticket-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const ticket = new FormData(event.target).get("ticket").trim();
    if (ticket) act("scan", { ticket });
    event.target.reset();
  });
  $("open-consent").addEventListener("click", openConsent);
  $("consent-accept").addEventListener("click", () => answerConsent(true));
  $("consent-reject").addEventListener("click", () => answerConsent(false));
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", () => moveClock({ advance: Number(button.dataset.advance) }));
  }
  for (const button of document.querySelectorAll("[data-offset]")) {
    button.addEventListener("click", () => moveClock({ offset: Number(button.dataset.offset) }));
  }
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll(".tab")) other.classList.toggle("active", other === tab);
      for (const pane of document.querySelectorAll(".tab-pane")) pane.classList.toggle("hidden", pane.id !== tab.dataset.tab);
    });
  }
}

async function tick() {
  await Promise.allSettled([pollConversation(), pollCalls(), pollCallbacks(), pollSms()]);
  setTimeout(tick, POLL_MS);
}

async function slowTick() {
  await Promise.allSettled([loadState(), loadMenu(), loadQrCodes(), loadMembers()]);
  setTimeout(slowTick, 4 * POLL_MS);
}

wire();
slowTick();
tick();
