"""Helpers for the app's tests: run it headless on a real vault, wait for it by polling (never
a fixed sleep), and read what it shows."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Any

import pytest
from rich.console import Console
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Button, Static
from textual.worker import WorkerCancelled

from tui.app import KluisApp
from tui.virtual_list import VirtualList
from vault.store import Store

SIZE = (120, 36)


def make_app(vault: Store) -> KluisApp:
    """The app as a user sees it, with times in UTC."""
    return KluisApp(vault, tz=UTC)


async def workers_done(pilot: Pilot[Any]) -> None:
    """Wait for every worker; one replaced by a newer one (exclusive) counts as done."""
    while True:
        try:
            await pilot.app.workers.wait_for_complete()
            return
        except WorkerCancelled:
            continue


async def settle(pilot: Pilot[Any]) -> None:
    """Let workers finish and timers fire (the item pane reads 0.12 s after the cursor rests)."""
    await workers_done(pilot)
    await pilot.pause(0.15)
    await workers_done(pilot)
    await pilot.pause()
    await workers_done(pilot)
    await pilot.pause()


def drive(vault: Store, story: Callable[[KluisApp, Pilot[Any]], Awaitable[None]]) -> KluisApp:
    """Run the app headless on ``vault``, settle, then play ``story`` against it."""
    app = make_app(vault)

    async def run() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await story(app, pilot)

    asyncio.run(run())
    return app


async def until(
    pilot: Pilot[Any],
    condition: Callable[[], object],
    what: str = "what the test waits for",
    seconds: float = 30,
) -> None:
    """Poll the app until ``condition`` holds (workers run in threads); fail after ``seconds``."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            await pilot.pause()
            return
        await pilot.pause(0.05)
    pytest.fail(f"the app never showed {what}")


async def press(app: KluisApp, pilot: Pilot[Any], selector: str) -> None:
    """Press a button of the current screen (as Enter on it would; it may be scrolled away)."""
    app.screen.query_one(selector, Button).press()
    await pilot.pause()


def lines(widget: VirtualList) -> list[str]:
    """The text of every line the widget shows now."""
    return [widget.render_line(y).text for y in range(widget.scrollable_content_region.height)]


def plain(renderable: Any) -> str:
    """A Rich renderable as plain text, the way a terminal would print it."""
    console = Console(file=io.StringIO(), width=100, color_system=None, record=True)
    console.print(renderable)
    return console.export_text()


def text_of(screen: Any, selector: str) -> str:
    """The plain text a Static on ``screen`` shows."""
    content = screen.query_one(selector, Static).content
    return content.plain if isinstance(content, Text) else plain(content).rstrip("\n")


def notices(app: KluisApp) -> list[str]:
    """The notifications shown so far."""
    return [str(n.message) for n in app._notifications]
