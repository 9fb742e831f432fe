// The review page: the film, a strip of its shots, and every shot's takes.
// It polls /api/state (cheap) and reloads /api/project when the project's version changes.
// Rows and take cards are updated in place, so a take that is playing keeps playing.
"use strict";

const POLL_MS = 1000;
let project = null;   // the last /api/project
let version = null;
let busy = null;      // {pid, this_page} while a process holds the project's lock
let jobs = [];        // the new takes asked for here

const $ = (sel, root = document) => root.querySelector(sel);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) =>
  ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const pad = (n) => String(n).padStart(3, "0");
const fmt = (v) => (typeof v === "number" && !Number.isInteger(v) ? v.toPrecision(3) : String(v));

async function api(path, options = {}) {
  const response = await fetch(path, {
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    ...options,
  });
  let data = null;
  try { data = await response.json(); } catch (_) { /* an empty or non-JSON body */ }
  if (!response.ok) {
    const error = new Error((data && data.error) || `${response.status} ${response.statusText}`);
    error.data = data;
    throw error;
  }
  return data;
}

function toast(text, bad = false) {
  const el = $("#toast");
  el.textContent = text;
  el.className = bad ? "bad" : "";
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, bad ? 8000 : 3000);
}

function problem(text) {
  const el = $("#problem");
  el.hidden = !text;
  el.textContent = text || "";
}

// ---- loading -------------------------------------------------------------------------

async function loadProject() {
  try {
    const data = await api("/api/project");
    project = data;
    version = data.version;
    busy = data.busy;
    jobs = data.jobs;
    problem(null);
    render();
  } catch (e) {
    const lines = (e.data && e.data.diagnostics) || [];
    problem([e.message, ...(e.data && e.data.hint ? [e.data.hint] : []), ...lines].join("\n"));
  }
}

async function poll() {
  try {
    const state = await api("/api/state");
    busy = state.busy;
    jobs = state.jobs;
    if (state.version !== version) await loadProject();
    else live();
  } catch (e) {
    problem(`the review server does not answer (${e.message})`);
  }
  setTimeout(poll, POLL_MS);
}

// ---- drawing -------------------------------------------------------------------------

function render() {
  document.title = `${project.title} · review`;
  $("#title").textContent = project.title;
  const name = (path) => path.split("/").pop();
  $("#where").textContent = `${name(project.storyboard)} → ${name(project.root)}`;
  $("#where").title = project.root;
  renderFilm();
  renderShots();
  live();
  document.body.dataset.version = version;  // what a test waits for: this version is on the page
  if (!performance.getEntriesByName("review-shown").length) performance.mark("review-shown");  // bench/review.py
}

function renderFilm() {
  const film = project.film;
  const video = $("#film");
  $("#no-film").hidden = !!film;
  video.hidden = !film;
  if (film && video.dataset.src !== film.mp4) {
    video.dataset.src = film.mp4;
    video.querySelectorAll("track").forEach((t) => t.remove());
    video.src = film.mp4;
    if (film.vtt) {
      const track = document.createElement("track");
      Object.assign(track, { kind: "subtitles", src: film.vtt, label: "subtitles", default: true });
      video.appendChild(track);
    }
  }
  const strip = $("#timeline");
  const key = JSON.stringify(project.shots.map((s) => [s.id, s.film, posterOf(s)]));
  if (strip.dataset.key === key) return;
  strip.dataset.key = key;
  strip.innerHTML = project.shots.map((s) => {
    const poster = posterOf(s);
    const style = `flex-grow:${s.film.length_s};${poster ? `background-image:url('${esc(poster)}')` : ""}`;
    return `<button type="button" data-seek="${s.film.start_s}" data-shot="${esc(s.id)}" style="${style}"
      title="${esc(s.id)} at ${s.film.start_s.toFixed(2)} s">${esc(s.id)}</button>`;
  }).join("");
}

function posterOf(shot) {
  const take = shot.takes.find((t) => t.chosen);
  return take ? take.poster : null;
}

function renderShots() {
  const list = $("#shots");
  const wanted = project.shots.map((s) => `shot-${s.id}`);
  [...list.children].forEach((el) => { if (!wanted.includes(el.id)) el.remove(); });
  project.shots.forEach((shot, i) => {
    let row = document.getElementById(`shot-${shot.id}`);
    if (!row) {
      row = document.createElement("article");
      row.className = "shot";
      row.id = `shot-${shot.id}`;
      row.dataset.shot = shot.id;
      row.innerHTML = `<div class="shot-head"></div><div class="shot-body"><div class="shot-info"></div>
        <div class="takes"></div></div>`;
    }
    if (list.children[i] !== row) list.insertBefore(row, list.children[i] || null);  // moves only when out of order
    setHTML($(".shot-head", row), headHTML(shot));
    setHTML($(".shot-info", row), infoHTML(shot));
    renderTakes($(".takes", row), shot);
  });
}

function setHTML(el, html) {
  if (el._html !== html) { el.innerHTML = html; el._html = html; }
}

function headHTML(shot) {
  return `<h2><span class="scene">${esc(shot.scene)} /</span> ${esc(shot.id)}</h2>
    <span>${fmt(shot.duration_s)} s</span>
    ${shot.camera ? `<span class="dim">${esc(shot.camera)}</span>` : ""}
    <span class="badge ${esc(shot.status)}" title="for today's storyboard">${esc(shot.status)}</span>
    ${shot.locked ? `<span class="badge locked">locked</span>` : ""}
    ${shot.continue_from ? `<span class="dim">continues from ${esc(shot.continue_from)}</span>` : ""}`;
}

function infoHTML(shot) {
  const lines = shot.dialogue.map((d) => `<li>${d.who ? `<b>${esc(d.who)}</b>: ` : ""}${esc(d.line)}</li>`).join("");
  return `${shot.action ? `<p>${esc(shot.action)}</p>` : ""}
    ${shot.sound ? `<p class="dim">♪ ${esc(shot.sound)}</p>` : ""}
    ${lines ? `<ul class="dialogue">${lines}</ul>` : ""}
    <details class="caption"><summary>caption</summary><div>${esc(shot.caption ?? "(not written yet)")}</div></details>
    <div class="actions">
      ${shot.locked
        ? `<button type="button" class="act" data-action="unlock" data-shot="${esc(shot.id)}" data-needs-lock>unlock</button>`
        : `<button type="button" class="act" data-action="lock" data-shot="${esc(shot.id)}" data-needs-lock
             ${shot.chosen == null ? "disabled data-never" : ""}>lock</button>`}
      <button type="button" class="act" data-action="take" data-shot="${esc(shot.id)}">new take</button>
    </div>
    <div class="job" data-job-for="${esc(shot.id)}"></div>`;
}

function renderTakes(box, shot) {
  if (!shot.takes.length) { setHTML(box, `<p class="no-takes">no take yet</p>`); box._keys = null; return; }
  if (!box._keys) { box.innerHTML = ""; box._html = null; box._keys = true; }
  const wanted = shot.takes.map((t) => String(t.n));
  [...box.children].forEach((el) => { if (!wanted.includes(el.dataset.take)) el.remove(); });
  shot.takes.forEach((take, i) => {
    let card = box.querySelector(`figure[data-take="${take.n}"]`);
    if (!card) {
      card = document.createElement("figure");
      card.className = "take";
      card.dataset.take = take.n;
      const video = document.createElement("video");
      Object.assign(video, { controls: true, preload: "none", poster: take.poster, src: take.clip, playsInline: true });
      card.append(video, document.createElement("figcaption"));
    }
    if (box.children[i] !== card) box.insertBefore(card, box.children[i] || null);
    const video = $("video", card);
    if (video.getAttribute("src") !== take.clip) { video.poster = take.poster; video.src = take.clip; }
    card.classList.toggle("chosen", take.chosen);
    setHTML($("figcaption", card), takeHTML(shot, take));
  });
}

function takeHTML(shot, take) {
  const marks = [
    take.current ? `<span class="badge current" title="made from today's inputs">current</span>`
      : `<span class="badge older" title="made from older inputs">stale</span>`,
    take.chosen ? `<span class="badge chosen">in the film</span>` : "",
    take.picked ? `<span class="badge picked">picked</span>` : "",
    take.locked ? `<span class="badge locked">locked</span>` : "",
  ].join("");
  const label = take.current ? "pick" : "pick + lock";
  const title = take.current ? "use this take in the film" : "this take is of older inputs: pick and lock it";
  const pick = take.chosen && take.picked ? "" :
    `<button type="button" class="act" data-action="pick" data-shot="${esc(shot.id)}" data-take="${take.n}"
      data-lock="${take.current ? "" : "1"}" data-needs-lock title="${title}">${label}</button>`;
  return `<div class="take-line"><b>take ${pad(take.n)}</b><span class="dim">seed ${take.seed}</span>${marks}</div>
    ${checksHTML(take.checks)}
    <div class="actions">${pick}</div>`;
}

// The take checks (the server gives one list: name, status, value, unit, reason): a summary line
// with the failures and warnings named, the whole list folded under it.
const MARKS = { pass: "✓", fail: "✗", warn: "!", "not-run": "–" };
function checksHTML(checks) {
  if (!checks || !checks.length) return "";
  const named = (status) => checks.filter((c) => c.status === status).map((c) => c.name);
  const passed = named("pass").length;
  const summary = [
    passed ? `<span class="pass">✓ ${passed}</span>` : "",
    named("fail").length ? `<span class="fail">✗ ${esc(named("fail").join(", "))}</span>` : "",
    named("warn").length ? `<span class="warn">! ${esc(named("warn").join(", "))}</span>` : "",
    named("not-run").length ? `<span class="dim">– ${named("not-run").length} not run</span>` : "",
  ].filter(Boolean).join(" · ") || "checks";
  const li = checks.map((c) => {
    const mark = MARKS[c.status] || "•";
    const value = c.value != null ? ` ${fmt(c.value)}${c.unit ? ` ${esc(c.unit)}` : ""}` : "";
    const limit = c.threshold != null ? ` (limit ${fmt(c.threshold)})` : "";
    return `<li class="${esc(c.status || "")}" title="${esc(c.reason)}"><span class="mark">${mark}</span> ${esc(c.name)}` +
      `<span class="dim">${value}${limit}</span>${c.reason ? ` <span class="dim">— ${esc(c.reason)}</span>` : ""}</li>`;
  }).join("");
  return `<details class="checks"><summary>${summary}</summary><ul>${li}</ul></details>`;
}

// What changes between versions: the lock, the jobs; the buttons that must wait.
function live() {
  const banner = $("#busy");
  const other = busy && !busy.this_page;
  banner.hidden = !busy;
  banner.textContent = !busy ? "" : other
    ? `A render is running elsewhere (pid ${busy.pid}): picking and locking wait until it ends.`
    : "Rendering a new take: picking and locking wait until it ends.";
  document.querySelectorAll("button[data-needs-lock]").forEach((b) => {
    b.disabled = !!busy || b.hasAttribute("data-never");
  });
  const latest = {};
  jobs.forEach((j) => { latest[j.shot] = j; });
  document.querySelectorAll("[data-job-for]").forEach((el) => {
    const job = latest[el.dataset.jobFor];
    el.className = `job ${job ? job.state : ""}`;
    el.textContent = job ? jobText(job) : "";
  });
}

function jobText(job) {
  switch (job.state) {
    case "queued": return "new take: queued";
    case "waiting": return "new take: waiting for the render running elsewhere";
    case "running": {
      const at = job.at ? ` · shot ${job.at} (${job.shots_done + 1}/${job.shots_total})` : "";
      return `new take: rendering${at}${job.step ? ` · ${job.step}` : ""}`;
    }
    case "done": return job.takes.length ? `new take ${job.takes.map(pad).join(", ")} made` : "rendered";
    default: return `new take failed: ${job.error}`;
  }
}

// ---- acting --------------------------------------------------------------------------

async function act(button) {
  const { action, shot } = button.dataset;
  const routes = {
    pick: [`/api/shots/${encodeURIComponent(shot)}/pick`,
      { take: Number(button.dataset.take), ...(button.dataset.lock ? { lock: true } : {}) }],
    lock: [`/api/shots/${encodeURIComponent(shot)}/lock`, {}],
    unlock: [`/api/shots/${encodeURIComponent(shot)}/unlock`, {}],
    take: [`/api/shots/${encodeURIComponent(shot)}/takes`, {}],
  };
  const [path, body] = routes[action];
  button.disabled = true;
  try {
    await api(path, { method: "POST", body: JSON.stringify(body) });
    const done = { pick: `${shot}: take ${pad(body.take)} picked`, lock: `${shot}: locked`,
      unlock: `${shot}: unlocked`, take: `${shot}: new take asked for` };
    toast(done[action]);
  } catch (e) {
    toast(`${shot}: ${e.message}${e.data && e.data.hint ? ` (${e.data.hint})` : ""}`, true);
  }
  button.disabled = false;
  await loadProject();
}

document.addEventListener("click", (event) => {
  const seek = event.target.closest("button[data-seek]");
  if (seek) {
    const film = $("#film");
    film.currentTime = Number(seek.dataset.seek) + 0.001;
    film.play().catch(() => {});
    return;
  }
  const button = event.target.closest("button[data-action]");
  if (button && !button.disabled) act(button);
});

$("#film").addEventListener("timeupdate", () => {
  if (!project) return;
  const t = $("#film").currentTime;
  document.querySelectorAll("#timeline button").forEach((b) => {
    const shot = project.shots.find((s) => s.id === b.dataset.shot);
    b.classList.toggle("now", !!shot && t >= shot.film.start_s && t < shot.film.start_s + shot.film.length_s);
  });
});

loadProject().then(poll);
