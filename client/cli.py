"""``python -m client generate|status|cancel|schema|workflows``: exit 0 done, 1 the job or the endpoint failed,
2 a bad request or option (nothing sent), 130 Ctrl-C (the job is cancelled first)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable, Sequence

from engine.errors import ConfigError, Error, RequestError

from . import request
from .api import Client, Poll
from .bar import ProgressBar
from .errors import one_line

EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 1, 2, 130


def _dump(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _client(args: argparse.Namespace, **options: Any) -> Client:
    return Client(args.url, endpoint=args.endpoint, **options)


def cmd_generate(args: argparse.Namespace) -> int:
    """Send one job, show its progress, write its video, print its metadata as JSON."""
    job_input = request.read_input(args.input)
    poll = Poll(first_s=args.poll_first, max_s=max(args.poll_max, args.poll_first))
    bar = ProgressBar()
    with _client(args, validate=not args.no_validate, poll=poll) as client:
        try:
            video = client.generate(job_input, args.output, on_progress=bar)
        except BaseException:
            bar.close(done=False)
            raise
        bar.close(done=True)
    print(f"wrote {video.path} ({video.size} bytes) from job {video.job_id}", file=sys.stderr)
    _dump(video.metadata)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print the job's status answer (an inline video shown as its size)."""
    with _client(args) as client:
        _dump(client.status(args.job_id).shown())
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    """Cancel the job; print the endpoint's answer."""
    with _client(args) as client:
        _dump(dict(client.cancel(args.job_id).raw))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print a workflow's request JSON Schema."""
    _dump(Client.schema(args.workflow))
    return 0


def cmd_workflows(args: argparse.Namespace) -> int:
    """List the workflows this checkout knows."""
    for name, description in Client.workflows().items():
        print(f"{name}: {description}")
    return 0


def _endpoint_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="the endpoint's base URL: https://api.runpod.ai/v2/<id>, or the worker's "
                                     "local API such as http://127.0.0.1:8000")
    where.add_argument("--endpoint", help="a RunPod endpoint id (same as --url https://api.runpod.ai/v2/<id>)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one sub-command per verb."""
    parser = argparse.ArgumentParser(prog="python -m client", description=__doc__,
                                     epilog="RunPod's API needs RUNPOD_API_KEY in the environment.")
    sub = parser.add_subparsers(dest="command", required=True)

    generate = sub.add_parser("generate", help="make one video: validate, send, show progress, write the file")
    _endpoint_options(generate)
    generate.add_argument("--input", required=True, help="the job input as JSON, or @file.json")
    generate.add_argument("--output", required=True, help="the mp4 to write (written only when complete)")
    generate.add_argument("--no-validate", action="store_true",
                          help="send without checking against this checkout's schemas (an endpoint of another version)")
    generate.add_argument("--poll-first", type=float, default=Poll.first_s, metavar="S",
                          help=f"first wait between status polls, again after each change (default {Poll.first_s:g})")
    generate.add_argument("--poll-max", type=float, default=Poll.max_s, metavar="S",
                          help=f"longest wait between status polls (default {Poll.max_s:g})")
    generate.set_defaults(func=cmd_generate)

    for verb, func, text in (("status", cmd_status, "print a job's status"), ("cancel", cmd_cancel, "cancel a job")):
        command = sub.add_parser(verb, help=text)
        _endpoint_options(command)
        command.add_argument("job_id", metavar="ID", help="the job id /run answered")
        command.set_defaults(func=func)

    schema = sub.add_parser("schema", help="print a workflow's request JSON Schema")
    schema.add_argument("workflow", metavar="WORKFLOW")
    schema.set_defaults(func=cmd_schema)

    workflows = sub.add_parser("workflows", help="list the workflows")
    workflows.set_defaults(func=cmd_workflows)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every error is one line on stderr."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        return handler(args)
    except (RequestError, ConfigError) as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Error as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt as exc:
        notes = getattr(exc, "__notes__", None)
        print(f"interrupted: {notes[-1]}" if notes else "interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
