// The pin finder. The page works without it (settings, how to run a pin); with
// it, the names come from names.json (site.Finder) and a pin's data from its
// shard in the bundle, so the page stays the same size at any pin count. Names
// are data: they only ever reach the page as text (textContent), never as markup.
"use strict";
(() => {
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  };
  const copyButton = (text) => {
    const b = el("button", "Copy", "copy");
    b.type = "button";
    b.dataset.copy = text;
    b.addEventListener("click", () => {
      navigator.clipboard.writeText(b.dataset.copy).then(() => {
        b.textContent = "Copied";
        setTimeout(() => { b.textContent = "Copy"; }, 1500);
      }, () => { b.textContent = "Select and copy"; });
    });
    return b;
  };
  for (const pre of document.querySelectorAll("#setup pre")) pre.append(copyButton(pre.textContent.trim()));

  const main = document.querySelector("main");
  const finder = document.getElementById("finder");
  if (!main || !finder || !window.fetch) return;
  const url = main.dataset.url, flakeRef = main.dataset.flakeRef || "", perPin = main.dataset.perPin || "", data = main.dataset.bundle + "data/";
  const $ = (id) => document.getElementById(id);
  const q = $("q"), sys = $("sys"), status = $("status"), results = $("results");
  const byBytes = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

  // Quoting, as pkg/site does it (site.Commands); the browser test compares the two.
  const keywords = ["assert", "else", "if", "in", "inherit", "let", "or", "rec", "then", "with", "__curPos"];
  const isIdent = (s) => /^[A-Za-z_][A-Za-z0-9_'-]*$/.test(s) && !keywords.includes(s);
  const shellQuote = (s) =>
    s !== "" && s[0] !== "=" && /^[A-Za-z0-9._\/:+=@%,-]*$/.test(s) ? s : "'" + s.replaceAll("'", "'\\''") + "'";
  const nixEscapes = { '"': '\\"', "\\": "\\\\", $: "\\$", "\n": "\\n", "\r": "\\r", "\t": "\\t" };
  const nixString = (s) => '"' + s.replace(/["\\$\n\r\t]/g, (c) => nixEscapes[c]) + '"';
  const nixAttr = (s) => (isIdent(s) ? s : nixString(s));
  const attrPath = (s) => (s === "" || /["^]/.test(s) ? null : isIdent(s) ? s : '"' + s + '"');
  const flakeFragment = (s) => {
    if (s === "" || s.includes('"')) return null;
    let out = "";
    for (const b of new TextEncoder().encode(isIdent(s) ? s : '"' + s + '"')) {
      const c = String.fromCharCode(b);
      out += /[A-Za-z0-9\-._~'"]/.test(c) ? c : "%" + b.toString(16).toUpperCase().padStart(2, "0");
    }
    return out;
  };
  const commands = (name, programs) => {
    const cmds = [];
    const add = (label, ...args) => cmds.push({ label, line: args.map(shellQuote).join(" ") });
    const frag = flakeFragment(name);
    if (frag !== null && programs.length > 0) {
      add("Run", "nix", "run", url + "#" + frag);
      if (flakeRef) add("Run from " + flakeRef, "nix", "run", flakeRef + "#" + frag);
    }
    const bins = [];
    for (const p of programs) {
      const i = p.lastIndexOf("/"), file = p.slice(i + 1);
      if (p.slice(0, i + 1) === "bin/" && file && !bins.includes(file)) bins.push(file);
    }
    const attr = attrPath(name);
    const inst = attr !== null ? ["-f", url, attr]
      : ["--impure", "--expr", "(import (builtins.fetchTarball " + nixString(url) + ") { })." + nixAttr(name)];
    add("Build", "nix", "build", ...inst);
    if (bins.length === 0) add("Shell", "nix", "shell", ...inst);
    for (const b of bins) add(bins.length > 1 ? "Shell (" + b + ")" : "Shell", "nix", "shell", ...inst, "-c", b);
    const seg = segment(name);
    if (perPin && seg !== null) {
      // The one-name bundle, as site.OneCommands writes it.
      const ref = perPin + seg;
      if (programs.length > 0) add("Run this name only", "nix", "run", ref);
      add("Build this name only", "nix", "build", ...(perPin.includes("dir=") ? [] : ["-f"]), ref);
    }
    return cmds;
  };
  // bundle.Segment: the name, or each byte outside [A-Za-z0-9._-] (a leading
  // ".", the dot of a final ".tar.gz") as ~XX, cut at 200 bytes with a hash.
  const segment = (name) => {
    const bytes = new TextEncoder().encode(name);
    let out = "";
    for (let i = 0; i < bytes.length; i++) {
      const c = String.fromCharCode(bytes[i]);
      const dot = c === "." && i > 0 && !(i === bytes.length - 7 && name.endsWith(".tar.gz"));
      out += /[A-Za-z0-9_-]/.test(c) || dot ? c : "~" + bytes[i].toString(16).toUpperCase().padStart(2, "0");
    }
    return out.length <= 200 ? out : null;
  };

  const files = new Map();
  const get = (path) => {
    if (!files.has(path)) {
      files.set(path, fetch(path).then((r) => {
        if (!r.ok) throw new Error(path + ": HTTP " + r.status);
        return r.json();
      }));
    }
    return files.get(path);
  };

  // The names (site.Finder): an array in the bundle's order, so that a name's
  // shard is its position / shardSize, and each name's set of systems. The
  // pool is the chosen system's names, as positions; nothing is done per name
  // until the user searches, and at most maxShown of them become DOM nodes. A
  // system-less pin ("*") serves every system, as in the bundle's indexes.
  let names = { names: [], group: [], groups: [], shardSize: 1 }, pool = new Uint32Array(0), lower = null, loading = 0;
  const load = async () => {
    const mine = ++loading;
    status.textContent = "Loading the names…";
    const f = await get(main.dataset.names);
    if (mine !== loading) return;
    if (f !== names) lower = null;
    const s = sys.value, inGroup = f.groups.map((g) => s === "" || g.includes(s) || g.includes("*"));
    const picked = new Uint32Array(f.names.length);
    let n = 0;
    for (let i = 0; i < f.names.length; i++) if (inGroup[f.group[i]]) picked[n++] = i;
    names = f;
    pool = picked.subarray(0, n);
    search();
  };
  const position = (name) => {
    const i = names.names.indexOf(name);
    return i >= 0 && pool.includes(i) ? i : -1;
  };

  const maxShown = 200;
  const search = () => {
    const needle = q.value.trim().toLowerCase();
    const hits = [];
    let count = pool.length;
    if (needle === "") {
      for (const i of pool.subarray(0, maxShown)) hits.push(i);
    } else {
      lower ??= names.names.map((n) => n.toLowerCase());
      count = 0;
      for (const i of pool) {
        if (lower[i].includes(needle)) {
          if (hits.length < maxShown) hits.push(i);
          count++;
        }
      }
      const exact = position(q.value.trim());
      if (exact >= 0) hits.splice(0, hits.length, exact, ...hits.filter((i) => i !== exact).slice(0, maxShown - 1));
    }
    const items = hits.map((i) => {
      const b = el("button", names.names[i]);
      b.type = "button";
      b.addEventListener("click", () => select(i));
      const li = el("li");
      li.append(b);
      return li;
    });
    results.replaceChildren(...items);
    status.textContent = count + " of " + pool.length + " names" + (count > hits.length ? ", the first " + hits.length + " shown" : "");
  };

  const select = async (i) => {
    const name = names.names[i];
    const shard = await get(data + "shards/" + Math.floor(i / names.shardSize) + ".json");
    const entries = Object.hasOwn(shard, name) ? shard[name] : {};
    const rows = [], programs = [];
    for (const s of Object.keys(entries).sort(byBytes)) {
      const pin = entries[s], tr = el("tr"), path = el("td", undefined, "path"), prog = el("td");
      path.append(el("code", pin.path));
      if (pin.ca) path.append(el("br"), el("span", "content-addressed", "muted"));
      if (pin.closure === "split") path.append(el("br"), el("span", "closure split across caches: substituted with builtins.storePath", "muted"));
      prog.append(pin.program ? el("code", pin.program) : el("span", "none", "muted"));
      tr.append(el("td", s === "*" ? "every system" : s), path, prog);
      rows.push(tr);
      if (pin.program && !programs.includes(pin.program)) programs.push(pin.program);
    }
    programs.sort(byBytes);
    const cmds = [];
    for (const c of commands(name, programs)) {
      const pre = el("pre");
      pre.append(el("code", c.line), copyButton(c.line));
      const dd = el("dd");
      dd.append(pre);
      cmds.push(el("dt", c.label), dd);
    }
    $("pin-name").textContent = name;
    $("pin-rows").replaceChildren(...rows);
    $("pin-cmds").replaceChildren(...cmds);
    $("pin").hidden = false;
    history.replaceState(null, "", "#" + encodeURIComponent(name));
  };

  finder.hidden = false;
  q.addEventListener("input", search);
  sys.addEventListener("change", () => load().catch(fail));
  const fail = (e) => { status.textContent = "Could not load the pins: " + e.message; };
  load().then(() => {
    const wanted = decodeURIComponent(location.hash.slice(1)), i = wanted === "" ? -1 : position(wanted);
    if (i >= 0) {
      q.value = wanted;
      search();
      return select(i);
    }
  }).catch(fail);
})();
