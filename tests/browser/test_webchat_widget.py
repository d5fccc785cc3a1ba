"""The web chat widget in Debian's Chromium: buttons, a timer's message, reload resumes,
the conversation's end shown with a way to start again."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import Server, shot_path

pytestmark = pytest.mark.browser

TREE = {
    "start": "start",
    "actions": [
        {"id": "start", "type": "start", "next": {"next": "menu"}},
        {"id": "menu", "type": "message_choice", "params": {
            "text": "Tea or coffee?",
            "choices": [{"label": "Tea", "value": "tea", "branch": "tea"},
                        {"label": "Coffee", "value": "coffee", "branch": "coffee"}]},
         "next": {"tea": "tea", "coffee": "coffee"}},
        {"id": "tea", "type": "message", "params": {"text": "Tea it is, brewing…"},
         "next": {"next": "brew"}},
        {"id": "coffee", "type": "message", "params": {"text": "Coffee it is."},
         "next": {"next": None}},
        {"id": "brew", "type": "pause", "params": {"seconds": 3}, "next": {"next": "ready"}},
        {"id": "ready", "type": "message", "params": {"text": "Your tea is ready."},
         "next": {"next": None}},
    ],
}


async def visitor_says(page, url: str, text: str, online: str = "online",
                       send: str = "Send"):
    """The chat page opened, once online, and a first message sent; the widget."""
    await page.goto(url)
    chat = page.get_by_test_id("sr-chat")
    await chat.get_by_text(online).wait_for()
    await chat.get_by_label("Message").fill(text)
    await chat.get_by_role("button", name=send, exact=True).click()
    return chat


def install(server: Server, reference: str) -> None:
    routing = server.api("POST", "/api/smart-routings/import", {
        "routing": {"name": reference, "reference": reference, "type": "start"},
        "versions": [{"name": "v1", "status": "production", "tree": TREE}],
    })
    server.api("POST", "/api/entry-points", {
        "channel": "webchat", "name": "Tea room", "address": reference,
        "start_routing": routing["id"],
    })


async def test_a_visitor_clicks_a_choice_and_the_conversation_survives_a_reload(
    server: Server, page
):
    install(server, "tearoom")
    await page.goto(f"{server.url}/chat/tearoom")
    chat = page.get_by_test_id("sr-chat")
    await chat.get_by_text("online").wait_for()
    await chat.get_by_label("Message").fill("hello")
    await chat.get_by_role("button", name="Send").click()
    await chat.get_by_role("button", name="Tea").click()
    await chat.get_by_text("Tea it is, brewing…").wait_for()
    # written while the bot brews: accepted, and "typing" until the bot says something
    await chat.get_by_label("Message").fill("are you there?")
    await chat.get_by_role("button", name="Send").click()
    await expect(chat.get_by_test_id("sr-typing")).to_have_count(1)
    await chat.get_by_text("Your tea is ready.").wait_for()  # pushed by the pause's timer
    ended = chat.get_by_test_id("sr-ended")
    await expect(ended).to_contain_text("This conversation has ended.")  # the tree ended
    await expect(chat.get_by_test_id("sr-typing")).to_have_count(0)  # answered: no typing
    await page.screenshot(path=shot_path("webchat-conversation"))
    await page.reload()
    await chat.get_by_text("online").wait_for()
    await chat.get_by_text("Your tea is ready.").wait_for()  # the history came back
    bubbles = await chat.locator(".sr-msg").all_inner_texts()
    assert bubbles == ["hello", "Tea or coffee?", "Tea", "Tea it is, brewing…",
                       "are you there?", "Your tea is ready."]
    assert await chat.get_by_role("button", name="Coffee").is_disabled()
    await expect(ended).to_have_count(1)  # still ended after the reload
    await ended.get_by_role("button", name="Start again").click()
    await expect(ended).to_have_count(0)
    await chat.get_by_label("Message").fill("hello again")
    await chat.get_by_role("button", name="Send").click()
    await expect(chat.get_by_text("Tea or coffee?")).to_have_count(2)  # a new conversation
    await page.screenshot(path=shot_path("webchat-started-again"))


async def test_a_french_browser_gets_a_french_widget_and_the_routings_french_texts(
    server: Server, browser
):
    french = {**TREE, "actions": [
        {**item, "params": {**item["params"], "translations": [
            {"language": "fr", "text": "Thé ou café ?", "choices": ["Thé", "Café"]}]}}
        if item["id"] == "menu" else item for item in TREE["actions"]]}
    routing = server.api("POST", "/api/smart-routings/import", {
        "routing": {"name": "salon", "reference": "salon", "type": "start"},
        "versions": [{"name": "v1", "status": "production", "tree": french}]})
    server.api("POST", "/api/entry-points", {"channel": "webchat", "name": "Salon",
                                             "address": "salon", "start_routing": routing["id"]})
    context = await browser.new_context(locale="fr-FR", viewport={"width": 1000, "height": 800})
    try:
        page = await context.new_page()
        chat = await visitor_says(page, f"{server.url}/chat/salon", "bonjour",
                                  online="en ligne", send="Envoyer")
        await chat.get_by_text("Thé ou café ?").wait_for()
        await chat.get_by_role("button", name="Café").click()
        await chat.get_by_text("Coffee it is.").wait_for()  # untranslated: as typed
        await expect(chat.get_by_test_id("sr-ended")).to_contain_text(
            "Cette conversation est terminée.")
        await page.screenshot(path=shot_path("webchat-french"))
    finally:
        await context.close()


PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d4944415478da63f8cfc0f01f0005000201a5f0c9a00000000049454e44ae426082")


def asking_for_media(server: Server, address: str, questions: list[tuple[str, str]],
                     thanks: str) -> None:
    """A web chat entry point ``address`` whose routing asks each question in turn for a
    file (``media`` validation, into the variable named first), then says ``thanks``."""
    steps = [name for name, _text in questions]
    actions: list[dict] = [{"id": "start", "type": "start", "next": {"next": steps[0]}}]
    for index, (name, text) in enumerate(questions):
        following = steps[index + 1] if index + 1 < len(steps) else "thanks"
        actions.append({"id": name, "type": "message_wait", "params": {
            "text": text, "into": name, "validate": "media"}, "next": {"answered": following}})
    actions.append({"id": "thanks", "type": "message", "params": {"text": thanks}, "next": {}})
    routing = server.api("POST", "/api/smart-routings/import", {
        "routing": {"name": address, "reference": address, "type": "start"},
        "versions": [{"name": "v1", "status": "production",
                      "tree": {"start": "start", "actions": actions}}]})
    server.api("POST", "/api/entry-points", {"channel": "webchat", "name": address.title(),
                                             "address": address,
                                             "start_routing": routing["id"]})


async def test_a_visitor_sends_a_photo_that_the_conversation_viewer_shows(
    server: Server, page, tmp_path
):
    from tests.browser.test_admin_maker import log_in

    photo = tmp_path / "receipt.png"
    photo.write_bytes(PNG)
    asking_for_media(server, "receipts", [("receipt", "A photo of the receipt?")],
                     "Thanks for the {{ vars.receipt[0].kind }}.")
    chat = await visitor_says(page, f"{server.url}/chat/receipts", "hello")
    await chat.get_by_text("A photo of the receipt?").wait_for()
    await chat.locator(".sr-file").set_input_files(str(photo))
    await expect(chat.locator(".sr-visitor img.sr-media")).to_have_count(1)  # its preview
    await chat.get_by_text("Thanks for the image.").wait_for()
    await page.screenshot(path=shot_path("webchat-photo-sent"))
    await log_in(page, server)
    found = server.api("GET", "/api/interactions?limit=5")["items"]
    interaction = next(item for item in found if item["variables"].get("receipt"))
    await page.goto(f"{server.url}/admin/interactions/{interaction['id']}")
    image = page.locator('img[data-media="image"]')
    await expect(image).to_have_count(1)
    await page.wait_for_function(
        "() => document.querySelector('img[data-media=\"image\"]').naturalWidth > 0")
    assert await image.evaluate("img => img.naturalWidth") == 1  # our copy, loaded
    await page.screenshot(path=shot_path("viewer-photo"))


# a second of sound (a tone) and of video (a moving square), recorded by the browser itself:
# real WebM files, made without a media tool on the machine
RECORD = """async (kind) => {
  let stream, audio;
  if (kind === "audio") {
    audio = new AudioContext();
    const tone = audio.createOscillator(), out = audio.createMediaStreamDestination();
    tone.connect(out); tone.start(); stream = out.stream;
  } else {
    const canvas = document.createElement("canvas"); canvas.width = 64; canvas.height = 48;
    const draw = canvas.getContext("2d"); let x = 0;
    const paint = () => { draw.fillStyle = "#fff"; draw.fillRect(0, 0, 64, 48);
      draw.fillStyle = "#c00"; draw.fillRect(x++ % 48, 12, 16, 16); };
    paint(); stream = canvas.captureStream(25); window.__paint = setInterval(paint, 40);
  }
  const recorder = new MediaRecorder(stream, {mimeType: kind + "/webm"});
  const parts = [];
  recorder.ondataavailable = (event) => parts.push(event.data);
  const done = new Promise((resolve) => { recorder.onstop = resolve; });
  recorder.start(); await new Promise((resolve) => setTimeout(resolve, 1000));
  recorder.stop(); await done;
  clearInterval(window.__paint); if (audio) { await audio.close(); }
  const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
  let text = ""; bytes.forEach((b) => { text += String.fromCharCode(b); });
  return btoa(text);
}"""


async def test_a_visitor_sends_a_voice_note_and_a_video_that_play_in_the_viewer(
    server: Server, page
):
    """Sound and video both ways of the page: the widget plays its own before upload, the
    conversation viewer plays our stored copies (their metadata loads: real media)."""
    import base64

    from tests.browser.test_admin_maker import log_in

    asking_for_media(server, "clips", [("voice", "Say it in a voice note?"),
                                       ("video", "And show it in a video?")],
                     "Got the {{ vars.voice[0].kind }} and the {{ vars.video[0].kind }}.")
    chat = await visitor_says(page, f"{server.url}/chat/clips", "hello")
    await chat.get_by_text("Say it in a voice note?").wait_for()
    sound = base64.b64decode(await page.evaluate(RECORD, "audio"))
    await chat.locator(".sr-file").set_input_files(
        {"name": "note.webm", "mimeType": "audio/webm", "buffer": sound})
    await chat.get_by_text("And show it in a video?").wait_for()
    film = base64.b64decode(await page.evaluate(RECORD, "video"))
    await chat.locator(".sr-file").set_input_files(
        {"name": "clip.webm", "mimeType": "video/webm", "buffer": film})
    await chat.get_by_text("Got the audio and the video.").wait_for()
    await expect(chat.locator(".sr-visitor audio.sr-media")).to_have_count(1)  # playable
    await expect(chat.locator(".sr-visitor video.sr-media")).to_have_count(1)
    await page.screenshot(path=shot_path("webchat-voice-and-video"))

    await log_in(page, server)
    found = server.api("GET", "/api/interactions?limit=5")["items"]
    interaction = next(item for item in found if item["variables"].get("video"))
    await page.goto(f"{server.url}/admin/interactions/{interaction['id']}")
    for kind in ("audio", "video"):
        player = page.locator(f'{kind}[data-media="{kind}"]')
        await expect(player).to_have_count(1)
        assert "/media/" in (await player.get_attribute("src") or "")  # ours, not a provider's
        await player.evaluate("element => element.load()")  # preload none: load it now
        await page.wait_for_function(  # HAVE_METADATA: the browser decoded our copy
            f"() => document.querySelector('{kind}[data-media=\"{kind}\"]').readyState >= 1")
    size = await page.locator('video[data-media="video"]').evaluate("v => v.videoWidth")
    assert size == 64
    await page.screenshot(path=shot_path("viewer-voice-and-video"))
