"""A small Python client of the Integration API on grpcio.

Stubs are generated at run time from the repository's protos (src/IntegrationApi.Contracts/Protos) into a temporary
folder with grpc_tools.protoc; model parameters are packed as google.protobuf.Any(Value); one bidirectional StreamChat
carries several requests, told apart by clientRequestId.
"""
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

import grpc
from google.protobuf import any_pb2, struct_pb2

DEFAULT_PROTO_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "src", "IntegrationApi.Contracts", "Protos"))


def generate_stubs(proto_dir=DEFAULT_PROTO_DIR, out_dir=None):
    """Runs protoc on the contract's protos and imports them: returns (integration_api_pb2, integration_api_pb2_grpc, common_pb2)."""
    out_dir = out_dir or tempfile.mkdtemp(prefix="integration-api-stubs-")
    sources = [os.path.join(proto_dir, "common.proto"), os.path.join(proto_dir, "integration-api.proto")]
    outputs = [f"-I{proto_dir}", f"--python_out={out_dir}", f"--grpc_python_out={out_dir}"]
    if _grpc_tools_version() >= (1, 36):
        from grpc_tools import protoc
        well_known = os.path.join(os.path.dirname(protoc.__file__), "_proto")
        status = protoc.main(["protoc", f"-I{well_known}", *outputs, *sources])
    elif shutil.which("protoc") and shutil.which("grpc_python_plugin"):
        # Debian's python3-grpc-tools (1.14) bundles protoc 3.5, which cannot read proto3 "optional" (common.proto has
        # it): Debian's own protoc and gRPC plugin (protobuf-compiler, protobuf-compiler-grpc) match its runtime instead.
        status = subprocess.call(["protoc", f"--plugin=protoc-gen-grpc_python={shutil.which('grpc_python_plugin')}", *outputs, *sources])
    else:
        raise RuntimeError("no protoc that reads proto3 optional: pip install grpcio-tools>=1.36, "
                           "or apt-get install protobuf-compiler protobuf-compiler-grpc")
    if status != 0:
        raise RuntimeError(f"protoc failed on {proto_dir}")
    sys.path.insert(0, out_dir)  # the generated modules import each other by bare name
    # "integration-api.proto" becomes integration_api_pb2 (protoc turns the dash into an underscore).
    return (importlib.import_module("integration_api_pb2"), importlib.import_module("integration_api_pb2_grpc"),
            importlib.import_module("common_pb2"))


def _grpc_tools_version():
    """The installed grpcio-tools version as a tuple, (0,) when there is none."""
    try:
        from importlib.metadata import version
        return tuple(int(p) for p in version("grpcio-tools").split(".")[:2])
    except Exception:
        try:
            import grpc_tools  # noqa: F401  (Debian's package has no distribution metadata: assume its 1.14)
            return (1, 14)
        except ImportError:
            return (0,)


def pack_param(value):
    """One model parameter as the service expects it: google.protobuf.Any wrapping a google.protobuf.Value."""
    v = struct_pb2.Value()
    if value is None:
        v.null_value = struct_pb2.NULL_VALUE
    elif isinstance(value, bool):  # before int: bool is an int in Python
        v.bool_value = value
    elif isinstance(value, (int, float)):
        v.number_value = value
    elif isinstance(value, str):
        v.string_value = value
    elif isinstance(value, (list, tuple)):
        v.list_value.extend(value)
    elif isinstance(value, dict):
        v.struct_value.update(value)
    else:
        raise TypeError(f"cannot pack {type(value).__name__} as google.protobuf.Value")
    packed = any_pb2.Any()
    packed.Pack(v)
    return packed


def model_parameters(**params):
    """model_parameters(name="gpt-4o-mini", temperature=0.2) → {"model.name": Any, "model.temperature": Any}."""
    return {(k if k.startswith("model.") else f"model.{k}"): pack_param(v) for k, v in params.items()}


def credential(pb2, **values):
    """A Credential whose value is a Struct of strings: key=... (most providers), or Azure's / Vertex AI's keys."""
    c = pb2.Credential()
    c.value.update({k: str(v) for k, v in values.items()})
    return c


def text_message(common_pb2, role, text):
    """A text message of the contract (role: system, user, assistant, tool)."""
    return common_pb2.Message(role=role, contents=[common_pb2.Content(contentType="text", contentFormat="raw", content=text.encode("utf-8"))])


def text_of(response):
    """A response's text: a delta's piece, or a terminal's whole answer."""
    return "".join(c.content.decode("utf-8") for c in response.data.contents if c.contentType == "text")


def connect(address, api_key, stubs):
    """An LlmService stub on an insecure channel, and the call metadata carrying the caller's project key."""
    _, pb2_grpc, _ = stubs
    channel = grpc.insecure_channel(address)
    return channel, pb2_grpc.LlmServiceStub(channel), (("x-api-key", api_key),)
