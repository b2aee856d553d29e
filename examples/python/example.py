"""One StreamChat on LlmService: two requests in flight at once (OpenAI and Anthropic), and a third that is cancelled
after its first delta. Every request must end with exactly one terminal: the two answered (stop), the third cancelled
(code 499). Exits 0 when all checks pass.

    INTEGRATION_API_ADDRESS=127.0.0.1:9004 INTEGRATION_API_KEY=rpd-prj-dev-key PROVIDER_KEY=demo-key /usr/bin/python3 example.py
"""
import os
import queue
import sys
import threading

from integration_client import connect, credential, generate_stubs, model_parameters, text_message, text_of

ADDRESS = os.environ.get("INTEGRATION_API_ADDRESS", "127.0.0.1:9004")
API_KEY = os.environ.get("INTEGRATION_API_KEY", "rpd-prj-dev-key")
PROVIDER_KEY = os.environ.get("PROVIDER_KEY", "demo-key")


def main():
    stubs = generate_stubs()
    pb2, _, common_pb2 = stubs
    channel, llm, metadata = connect(ADDRESS, API_KEY, stubs)

    def chat(request_id, provider, model, prompt):
        return pb2.ChatRequest(
            clientRequestId=request_id, providerName=provider, credential=credential(pb2, key=PROVIDER_KEY),
            conversations=[text_message(common_pb2, "user", prompt)],
            modelParameters=model_parameters(name=model, temperature=0.2, max_completion_tokens=200))

    # grpcio reads requests from an iterator on its own thread: a queue lets this thread decide what to send when.
    outgoing = queue.Queue()
    end = object()
    requests = iter(outgoing.get, end)
    first_delta_of_long = threading.Event()
    terminals, deltas = {}, {}

    outgoing.put(chat("openai-1", "openai", "gpt-4o-mini", "Hello from Python"))
    outgoing.put(chat("anthropic-1", "anthropic", "claude-sonnet-4-5", "Hello again from Python"))
    outgoing.put(chat("long", "openai", "gpt-4o-mini", " ".join(f"word{i}" for i in range(200))))
    responses = llm.StreamChat(requests, metadata=metadata, timeout=60)
    for response in responses:
        rid = response.clientRequestId
        if response.finishReason:
            terminals[rid] = response
        else:
            deltas[rid] = deltas.get(rid, "") + text_of(response)
        # At its first delta (or, should it fail at once, its terminal): cancel it and half-close.
        if rid == "long" and not first_delta_of_long.is_set():
            first_delta_of_long.set()
            outgoing.put(pb2.ChatRequest(action=pb2.CANCEL, clientRequestId="long"))
            outgoing.put(end)  # half-close: the server finishes what is in flight, then ends the call with OK
    channel.close()

    results = []

    def check(name, ok, detail=""):
        results.append(ok)
        print(f"  {'PASS' if ok else 'FAIL'} python: {name}{'' if ok else ' ' + detail}")

    for rid in ("openai-1", "anthropic-1"):
        t = terminals.get(rid)
        check(f"{rid} answered", t is not None and t.success and t.finishReason == "stop" and text_of(t).startswith("You said:"),
              repr(t.error if t is not None else None))
        check(f"{rid} deltas add up to the answer", t is not None and deltas.get(rid) == text_of(t))
        check(f"{rid} has token metrics", t is not None and any(m.name == "TOTAL_TOKEN" for m in t.metrics))
    cancelled = terminals.get("long")
    check("long cancelled with one terminal", cancelled is not None and cancelled.finishReason == "cancelled" and cancelled.code == 499,
          repr(cancelled.finishReason if cancelled is not None else None))
    check("exactly three terminals", len(terminals) == 3, str(len(terminals)))
    return 0 if all(results) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # a failure to connect or a broken stream is one failed check, with its reason
        print(f"  FAIL python: {type(e).__name__}: {e}")
        sys.exit(1)
