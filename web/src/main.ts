import { type Client, createClient } from "@connectrpc/connect";
import { SimpleTest } from "../../gen/simpletest/simple_test_pb.js";
import { apiBaseUrl } from "./api-base-url.js";
import { type CallView, createResultView } from "./result-view.js";
import { transportChoices } from "./transports.js";

const byId = <T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T => {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`the page has no ${type.name} #${id}`);
  return element;
};

const form = byId("call-form", HTMLFormElement);
const nameInput = byId("name", HTMLInputElement);
const transportSelect = byId("transport", HTMLSelectElement);
const getOneButton = byId("get-one", HTMLButtonElement);
const getListButton = byId("get-list", HTMLButtonElement);
const cancelButton = byId("cancel", HTMLButtonElement);
const server = byId("server", HTMLElement);
const view = createResultView({
  panel: byId("result", HTMLElement),
  call: byId("result-call", HTMLElement),
  status: byId("result-status", HTMLElement),
  answer: byId("result-answer", HTMLElement),
  messages: byId("result-messages", HTMLOListElement),
  error: byId("result-error", HTMLElement),
  errorCode: byId("result-error-code", HTMLElement),
  errorMessage: byId("result-error-message", HTMLElement),
});

transportSelect.replaceChildren(...transportChoices.map(({ id, label }) => new Option(label, id)));
try {
  server.textContent = apiBaseUrl(location);
} catch {
  server.textContent = "(invalid ?api= parameter)";
}

let running: AbortController | undefined;

type Call = (client: Client<typeof SimpleTest>, view: CallView, signal: AbortSignal) => Promise<void>;

/** Runs one call in the result panel, over the chosen transport; a new call cancels one still running. */
async function run(method: string, invoker: HTMLButtonElement, call: Call) {
  running?.abort();
  const abort = new AbortController();
  running = abort;
  const transport = transportChoices.find(({ id }) => id === transportSelect.value) ?? transportChoices[0];
  const callView = view.begin(method, transport.label);
  cancelButton.disabled = false;
  try {
    await call(createClient(SimpleTest, transport.create(apiBaseUrl(location))), callView, abort.signal);
  } catch (e) {
    if (abort.signal.aborted) callView.cancelled();
    else callView.failed(e);
  } finally {
    if (running === abort) {
      running = undefined;
      // Keyboard users keep their place when the Cancel button they were on is disabled.
      if (document.activeElement === cancelButton) invoker.focus();
      cancelButton.disabled = true;
    }
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  void run("GetOne", getOneButton, async (client, callView, signal) => {
    callView.answered((await client.getOne({ hello: nameInput.value }, { signal })).result);
  });
});

getListButton.addEventListener("click", () => {
  void run("GetList", getListButton, async (client, callView, signal) => {
    for await (const message of client.getList({ hello: nameInput.value }, { signal })) {
      callView.received(message.resultlist);
    }
    callView.finished();
  });
});

cancelButton.addEventListener("click", () => running?.abort());
