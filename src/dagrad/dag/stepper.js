/* dagrad backprop stepper: steps through the forward and backward passes of one DAG.
   The data is the JSON block #dg-data; everything it holds is shown with textContent only. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("dg-data").textContent);
  var nodes = data.nodes;
  var edges = data.edges;
  var steps = data.steps;
  var firstBackward = steps.findIndex(function (s) { return s.phase === "backward"; });
  var current = -1;
  var timer = null;

  function $(id) { return document.getElementById(id); }
  function part(id, row) { return $("a_" + id + "-" + row) || $(id + "-" + row); }
  function toggle(el, cls, on) { if (el) { el.classList.toggle(cls, !!on); } }
  function bar(name) { return name.slice(0, 1) + "\u0304" + name.slice(1); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function setData(e, key, value) {
    if (!e) { return; }
    if (value === null || value === undefined) { e.removeAttribute("data-" + key); }
    else { e.setAttribute("data-" + key, String(value)); }
  }
  function asAttr(v) { return typeof v === "number" ? String(v) : JSON.stringify(v); }

  // ----- the page's elements -------------------------------------------------------------
  var outName = nodes[data.output].name;
  nodes.forEach(function (n, i) {
    n.index = i;
    n.el = $(n.id);
    n.valueEl = part(n.id, "value");
    n.adjEl = part(n.id, "adjoint");
    if (n.el) { n.el.setAttribute("data-node", n.name); n.el.classList.add("dg-node"); }
  });
  edges.forEach(function (e, k) {
    e.index = k;
    e.el = $(e.id);
    e.valueEl = part(e.id, "value");
    if (e.el) { e.el.classList.add("dg-edge"); }
  });

  var tbody = $("dg-table").querySelector("tbody");
  nodes.forEach(function (n) {
    if (n.kind === "const") { return; }
    var tr = el("tr");
    tr.setAttribute("data-node", n.name);
    tr.appendChild(el("td", "dg-name", n.name));
    n.valueCell = tr.appendChild(el("td", "dg-val", ""));
    n.adjCell = tr.appendChild(el("td", "dg-adj", ""));
    n.row = tr;
    tbody.appendChild(tr);
  });

  var list = $("dg-steps");
  var items = steps.map(function (s, i) {
    if (i === 0 || s.phase !== steps[i - 1].phase) {
      list.appendChild(el("li", "dg-steps-head", s.phase === "forward" ? "Forward pass"
        : "Backward pass (reverse mode)"));
    }
    var li = el("li", "dg-step dg-step-" + s.phase);
    li.setAttribute("data-step", String(i));
    li.appendChild(el("span", "dg-step-no", String(i + 1)));
    li.appendChild(el("span", "dg-step-body", s.text));
    li.addEventListener("click", function () { stop(); go(i); });
    list.appendChild(li);
    return li;
  });
  if (!steps.length) { list.appendChild(el("li", "dg-steps-head", "nothing to step through")); }

  var forwardCount = firstBackward < 0 ? steps.length : firstBackward;
  var backwardCount = steps.length - forwardCount;
  var shownNodes = nodes.filter(function (n) { return n.shown; }).length;
  var shownEdges = edges.filter(function (e) { return e.shown; }).length;
  $("dg-gradient").textContent = shownNodes + " nodes · " + shownEdges + " edges · " +
    forwardCount + " forward steps · " + backwardCount + " backward steps" +
    (backwardCount ? "" : " (no backward pass: the output is not a scalar)");

  // ----- the state after step k: values known, adjoints (partial or final), edges used ------
  function stateAt(k) {
    var st = { computed: {}, adj: {}, used: {} };
    nodes.forEach(function (n, i) { if (n.kind === "const") { st.computed[i] = true; } });
    for (var i = 0; i <= k; i++) {
      var s = steps[i];
      if (s.phase === "forward") { st.computed[s.node] = true; continue; }
      if (i === firstBackward) { nodes.forEach(function (n, j) { st.computed[j] = true; }); }
      var a = st.adj[s.node] || (st.adj[s.node] = { sum: 0, terms: [], final: false });
      if (s.kind === "seed") { a.sum = 1; a.final = true; }
      else if (s.kind === "zero") { a.sum = 0; a.final = true; }
      else if (s.kind === "sum") { a.final = true; }
      else if (s.kind === "edge") {
        a.terms.push(s.contribution_text);
        a.sum = (typeof s.contribution === "number" && a.sum !== null) ? a.sum + s.contribution
          : null;
        a.final = s.final;
        st.used[s.edge] = true;
      }
    }
    return st;
  }

  function adjointText(n, a) {
    if (!a) { return ""; }
    if (a.final) { return n.adjoint_text; }
    return a.terms.join(" + ") + " + …";
  }

  // ----- drawing the state ------------------------------------------------------------------
  function render() {
    var st = stateAt(current);
    var step = current >= 0 ? steps[current] : null;
    var edge = step && step.edge !== null ? edges[step.edge] : null;
    nodes.forEach(function (n, i) {
      var done = !!st.computed[i];
      var a = st.adj[i];
      var fin = !!(a && a.final);
      toggle(n.el, "dg-pending", !done);
      toggle(n.valueEl, "dg-hidden", !done);
      toggle(n.adjEl, "dg-hidden", !fin);
      toggle(n.el, "dg-now", step && step.node === i);
      toggle(n.el, "dg-now-back", step && step.phase === "backward" && step.node === i);
      toggle(n.el, "dg-from", edge && edge.target === i);
      toggle(n.el, "dg-final", fin);
      var adjValue = fin ? (a.sum !== null && data.scalar ? a.sum : n.adjoint) : null;
      [n.el, n.row].forEach(function (e) {
        setData(e, "value", done && n.value !== null ? asAttr(n.value) : null);
        setData(e, "computed", done ? "true" : null);
        setData(e, "adjoint", fin && adjValue !== null ? asAttr(adjValue) : null);
        setData(e, "partial", a && !fin && a.sum !== null ? asAttr(a.sum) : null);
      });
      if (n.row) {
        n.valueCell.textContent = done ? n.value_text : "·";
        n.adjCell.textContent = adjointText(n, a) || "·";
        toggle(n.row, "dg-pending", !done);
        toggle(n.row, "dg-now", step && step.node === i);
        toggle(n.adjCell, "dg-partial", a && !fin);
      }
    });
    edges.forEach(function (e, k) {
      var done = !!st.computed[e.target];
      toggle(e.el, "dg-pending", !done);
      toggle(e.valueEl, "dg-hidden", !done);
      toggle(e.el, "dg-used", st.used[k]);
      toggle(e.el, "dg-now", edge && edge.index === k);
    });
    items.forEach(function (li, i) {
      toggle(li, "dg-done", i < current);
      toggle(li, "dg-current", i === current);
    });
    var cur = items[current];
    if (cur) {
      var top = cur.offsetTop;
      if (top < list.scrollTop || top + cur.offsetHeight > list.scrollTop + list.clientHeight) {
        list.scrollTop = Math.max(0, top - list.clientHeight / 3);
      }
    } else { list.scrollTop = 0; }
    showStep(step);
    $("dg-back").disabled = current < 0;
    $("dg-next").disabled = current >= steps.length - 1;
    $("dg-end").disabled = current >= steps.length - 1;
    $("dg-backward-pass").disabled = firstBackward < 0;
    document.body.setAttribute("data-step", String(current));
    document.body.setAttribute("data-phase", step ? step.phase : "start");
  }

  function showStep(step) {
    var phase = $("dg-phase");
    var done = current === steps.length - 1 && steps.length > 0;
    phase.textContent = !step ? "Ready" : (step.phase === "forward" ? "Forward pass" :
      "Backward pass") + " · step " + (current + 1) + " of " + steps.length;
    phase.setAttribute("data-phase", step ? step.phase : "start");
    $("dg-step-text").textContent = step ? step.text :
      "Nothing computed yet. Press Next ⏭ (or →) to evaluate the graph node by node.";
    var note = step ? step.note : "Grey nodes are not computed yet.";
    if (done && data.gradient) { note = (note ? note + " — " : "") + "done: " + data.gradient; }
    $("dg-step-note").textContent = note;
    $("dg-counter").textContent = (current + 1) + " / " + steps.length;
  }

  // ----- moving -----------------------------------------------------------------------------
  function go(k) {
    current = Math.max(-1, Math.min(steps.length - 1, k));
    render();
  }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    $("dg-play").classList.remove("dg-playing");
    $("dg-play-label").textContent = "Play";
  }
  function play() {
    if (timer !== null) { stop(); return; }
    if (current >= steps.length - 1) { go(-1); }
    $("dg-play").classList.add("dg-playing");
    $("dg-play-label").textContent = "Pause";
    timer = setInterval(function () {
      if (current >= steps.length - 1) { stop(); return; }
      go(current + 1);
    }, 900);
  }

  $("dg-next").addEventListener("click", function () { stop(); go(current + 1); });
  $("dg-back").addEventListener("click", function () { stop(); go(current - 1); });
  $("dg-end").addEventListener("click", function () { stop(); go(steps.length - 1); });
  $("dg-reset").addEventListener("click", function () { stop(); go(-1); });
  $("dg-forward-pass").addEventListener("click", function () { stop(); go(0); });
  $("dg-backward-pass").addEventListener("click", function () {
    stop();
    if (firstBackward >= 0) { go(firstBackward); }
  });
  $("dg-play").addEventListener("click", play);
  document.addEventListener("keydown", function (ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) { return; }
    var onButton = ev.target && ev.target.tagName === "BUTTON";
    if (ev.key === "ArrowRight") { stop(); go(current + 1); }
    else if (ev.key === "ArrowLeft") { stop(); go(current - 1); }
    else if (ev.key === "Home") { stop(); go(-1); }
    else if (ev.key === "End") { stop(); go(steps.length - 1); }
    else if (ev.key === " " && !onButton) { play(); }
    else { return; }
    ev.preventDefault();
  });

  // ----- hover: formula and value of a node or an edge ------------------------------------
  var tip = $("dg-tip");
  function tipLine(cls, text) { tip.appendChild(el("div", cls, text)); }

  function nodeTip(n) {
    var st = stateAt(current);
    var a = st.adj[n.index];
    tipLine("dg-tip-head", n.name + "   " + (n.op ? "(" + n.op + ")" : n.kind === "leaf" ?
      "(input)" : "(constant)"));
    if (n.kind === "op") { tipLine("dg-tip-formula", n.name + " = " + n.formula); }
    if (n.shape) { tipLine("dg-tip-dim", "shape " + n.shape); }
    tipLine("dg-tip-value", st.computed[n.index] ? "value " + n.value_text :
      "value: not computed yet");
    if (n.kind !== "const") {
      var label = "adjoint " + bar(n.name) + " = ∂" + outName + "/∂" + n.name;
      tipLine("dg-tip-adjoint", a && a.final ? label + " = " + n.adjoint_text :
        a ? label + " = " + adjointText(n, a) + "  (partial)" : label + ": not computed yet");
    }
  }

  function edgeTip(e) {
    var st = stateAt(current);
    var src = nodes[e.source];
    tipLine("dg-tip-head", src.name + " → " + nodes[e.target].name);
    if (!e.gradient) {
      tipLine("dg-tip-dim", src.kind === "const" ? "a constant: no gradient flows here"
        : "no derivative for this input");
      return;
    }
    tipLine("dg-tip-formula", e.label + " = " + e.formula);
    if (e.value_text !== null && e.value_text !== e.formula) {
      tipLine("dg-tip-value", st.computed[e.target] ? "= " + e.value_text + " at this point"
        : "value: not computed yet");
    }
    if (e.kind !== "scalar") { tipLine("dg-tip-dim", e.kind + " local derivative"); }
    if (e.latex) { tipLine("dg-tip-latex", "LaTeX: " + e.latex); }
    if (st.used[e.index]) {
      var s = steps.find(function (x) { return x.edge === e.index; });
      if (s) { tipLine("dg-tip-adjoint", s.text); }
    }
  }

  function showTip(ev, fill) {
    tip.textContent = "";
    fill();
    tip.hidden = false;
    moveTip(ev);
  }
  function moveTip(ev) {
    var x = ev.clientX + 16;
    var y = ev.clientY + 16;
    var w = tip.offsetWidth;
    var h = tip.offsetHeight;
    if (x + w > window.innerWidth - 8) { x = Math.max(8, ev.clientX - w - 16); }
    if (y + h > window.innerHeight - 8) { y = Math.max(8, ev.clientY - h - 16); }
    tip.style.left = x + "px";
    tip.style.top = y + "px";
  }
  function hide() { tip.hidden = true; }

  nodes.forEach(function (n) {
    if (!n.el) { return; }
    n.el.addEventListener("mouseenter", function (ev) {
      n.el.classList.add("dg-hover");
      showTip(ev, function () { nodeTip(n); });
    });
    n.el.addEventListener("mousemove", moveTip);
    n.el.addEventListener("mouseleave", function () { n.el.classList.remove("dg-hover"); hide(); });
  });
  edges.forEach(function (e) {
    if (!e.el) { return; }
    e.el.addEventListener("mouseenter", function (ev) {
      e.el.classList.add("dg-hover");
      showTip(ev, function () { edgeTip(e); });
    });
    e.el.addEventListener("mousemove", moveTip);
    e.el.addEventListener("mouseleave", function () { e.el.classList.remove("dg-hover"); hide(); });
  });

  window.dagradStepper = { go: go, steps: steps.length, firstBackward: firstBackward,
    current: function () { return current; } };
  render();
}());
