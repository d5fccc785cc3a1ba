"""The admin panel in the viewer's language: the browser's first language with a
catalogue (French here), else English; and the catalogue lists every word the panel
marks for translation, so translators are never handed a stale list."""

from __future__ import annotations

from html import unescape

from admin import i18n
from admin.pages import word_catalogue
from tests.integration.test_admin_pages import Pages, admin  # noqa: F401 (a fixture)


async def test_a_french_browser_gets_the_panel_in_french(app):
    page = Pages(app)
    response = await page.client.get("/admin/login",
                                     headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    text = await response.get_data(as_text=True)
    assert "Connexion au panneau d'administration" in text and 'lang="fr"' in text
    english = await (await page.client.get("/admin/login")).get_data(as_text=True)
    assert "Log in to the admin panel" in english and 'lang="en"' in english


async def test_the_navigation_follows_the_language(admin: Pages):  # noqa: F811
    french = await admin.client.get("/admin/interactions",
                                    headers={"Accept-Language": "fr"})
    text = await french.get_data(as_text=True)
    assert "Messages en échec" in text and "Se déconnecter" in text
    german = await admin.client.get("/admin/interactions", headers={"Accept-Language": "de"})
    assert "Failed messages" in await german.get_data(as_text=True)  # no catalogue: English


def test_the_catalogue_lists_every_word_marked_for_translation():
    listed = {message.id for message in word_catalogue.extracted() if message.id}
    with (i18n.TRANSLATIONS / "messages.pot").open("rb") as source:
        from babel.messages.pofile import read_po

        written = {message.id for message in read_po(source) if message.id}
    assert listed == written, "run `make i18n` to write admin/translations again"
    assert {"Log in to the admin panel", "Failed messages", "Operations"} <= written


async def test_the_routings_entry_points_and_home_pages_speak_french(admin: Pages):  # noqa: F811
    """The pages an admin opens first, in French, with the names they show kept as typed
    (escaped inside the translated sentence)."""
    await admin.get("/admin/smart-routings/new")
    status, _, response = await admin.post("/admin/smart-routings/new", {
        "name": "Ventes <b>&", "reference": "ventes", "type": "start"})
    assert status in (302, 303)
    routing_id = response.headers["Location"].rstrip("/").split("/")[-1]
    french = {"Accept-Language": "fr"}
    listing = await (await admin.client.get("/admin/smart-routings", headers=french)).get_data(
        as_text=True)
    assert "Nouveau routage intelligent" in listing and "Début d'interaction" in listing
    assert "Supprimer le routage intelligent Ventes &lt;b&gt;&amp; et toutes ses versions" in (
        listing)
    home = await (await admin.client.get("/admin/", headers=french)).get_data(as_text=True)
    assert "En un coup d'œil" in home and "Aucune mise en production" in home
    entry_points = await (await admin.client.get("/admin/entry-points", headers=french)
                          ).get_data(as_text=True)
    assert "Nouveau point d'entrée" in entry_points
    form = await (await admin.client.get("/admin/smart-routings/new", headers=french)).get_data(
        as_text=True)
    assert "Créer le routage intelligent" in form and "obligatoire" in form
    detail = await (await admin.client.get(f"/admin/smart-routings/{routing_id}",
                                           headers=french)).get_data(as_text=True)
    assert "Aucune version en production" in detail and "Créer une version" in detail
    await admin.get(f"/admin/smart-routings/{routing_id}")
    made = await admin.client.post(  # a French browser's request: its flash in French
        f"/admin/smart-routings/{routing_id}/versions", headers=french,
        form={"mode": "zero", "name": "v1", "csrf_token": admin.csrf})
    assert made.status_code in (302, 303)
    card = await (await admin.client.get(f"/admin/smart-routings/{routing_id}",
                                         headers=french)).get_data(as_text=True)
    assert "0 action après Départ" in card and "Mettre en test" in card
    assert "Version v1 créée en développement." in card  # the flash, in the viewer's words
    assert "Supprimer la version v1 ? Son arbre est perdu." in card


def test_every_word_marked_has_its_french():
    from babel.messages.pofile import read_po

    with (i18n.TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as source:
        untranslated = [message.id for message in read_po(source, locale="fr") if message.id
                        and not (all(message.string) if isinstance(message.id, tuple)
                                 else message.string)]
    assert untranslated == []


async def test_the_pages_sentences_count_in_the_viewers_language(app):
    """A flash that counts takes the form its language uses for the number."""
    from quart import g

    async with app.test_request_context("/admin/outbox"):
        g.language = "fr"
        assert i18n.phrases("%(count)s message discarded.", "%(count)s messages discarded.",
                            1) == "1 message écarté."
        assert i18n.phrases("%(count)s message discarded.", "%(count)s messages discarded.",
                            3) == "3 messages écartés."
        assert i18n.phrase("Type %(name)s created.", name="<b>") == "Type <b> créé."
        g.language = "en"
        assert i18n.phrases("%(count)s target added from %(file)s.",
                            "%(count)s targets added from %(file)s.", 2,
                            file="t.csv") == "2 targets added from t.csv."


async def test_the_reference_pages_speak_french_with_each_nouns_grammar(admin: Pages):  # noqa: F811
    """The pages made from one generic form: their labels, help and sentences in French,
    each with its noun's grammar (a variable is feminine, a role masculine)."""
    french = {"Accept-Language": "fr"}
    empty = unescape(await (await admin.client.get("/admin/variables", headers=french)
                            ).get_data(as_text=True))
    assert "Aucune variable pour l'instant" in empty and "Nouvelle variable" in empty
    form = unescape(await (await admin.client.get("/admin/variables/new", headers=french)
                           ).get_data(as_text=True))
    assert "Valeur par défaut" in form and "Lue tant qu'aucune valeur n'est définie." in form
    assert "Créer la variable" in form
    roles = await (await admin.client.get("/admin/roles/new", headers=french)).get_data(
        as_text=True)
    assert "Nouveau rôle" in roles and "Créer le rôle" in roles
    await admin.get("/admin/variables/new")
    created = await admin.client.post("/admin/variables/new", headers=french, form={
        "name": "hotline", "type": "text", "description": "", "default_value": "0800",
        "value": "", "csrf_token": admin.csrf})
    assert created.status_code == 302
    listing = unescape(await (await admin.client.get("/admin/variables", headers=french)
                              ).get_data(as_text=True))
    assert "Supprimer cette variable ?" in listing
    assert "Supprimer la variable hotline ? C'est irréversible." in listing
    assert "La variable hotline a été créée." in listing  # the flash of the creation


async def test_the_validation_report_speaks_the_viewers_language(admin: Pages, services):  # noqa: F811
    """A tree's findings in French, from their codes, naming the actions as typed."""
    from tests.support.routings import action, production_routing, tree

    routing_id = await production_routing(services, "lost", tree(
        action("hello", "message", {"text": "Hi"}),
        {**action("lost", "message", {"text": "never"}), "name": "Perdue <i>"}))
    [version] = await services.store.versions.all({"routing_id": routing_id})
    french = await (await admin.client.get(f"/admin/versions/{version.id}",
                                           headers={"Accept-Language": "fr"})).get_data(
        as_text=True)
    assert "ne peut pas être atteinte depuis Départ" in unescape(french)
    assert "Perdue &lt;i&gt;" in french  # the name typed, escaped in the sentence
    assert "(Message simple)" in unescape(french)  # what it is, in French too
    english = await (await admin.client.get(f"/admin/versions/{version.id}")).get_data(
        as_text=True)
    assert "cannot be reached from Start" in english


async def test_an_action_form_speaks_the_viewers_language(admin: Pages, services):  # noqa: F811
    """The forms made from the action types' models: labels, help, options and buttons
    in French; what an admin typed and the records' names kept as they are."""
    from tests.support.routings import action, production_routing, tree

    routing_id = await production_routing(services, "formes", tree(
        action("test", "values_test", {"cases": [{"branch": "ventes", "conditions": [
            {"left": "{{ message.text }}", "operator": "contains", "right": "Ventes"}]}]}),
        action("file", "to_queue", {"queue": "disparue"})))
    [version] = await services.store.versions.all({"routing_id": routing_id})
    french = {"Accept-Language": "fr"}

    async def panel(action_id: str) -> str:
        return unescape(await (await admin.client.get(
            f"/admin/versions/{version.id}?action={action_id}", headers=french)).get_data(
            as_text=True))

    test = await panel("test")
    assert "Opérateur" in test and ">Contient<" in test and "+ Ajouter une condition" in test
    assert "Ventes" in test  # typed, not translated
    queue = await panel("file")
    assert "disparue (n'existe pas)" in queue
    assert "Aucune file pour l'instant : créez-en une d'abord." in queue
    english = unescape(await (await admin.client.get(
        f"/admin/versions/{version.id}?action=test")).get_data(as_text=True))
    assert "Operator" in english and "+ Add a condition" in english


def test_every_named_record_has_its_sentences():
    """A parameter picked among records says, in the viewer's words, which records — so
    every kind of record the references know has its two sentences."""
    from admin.pages.versions import RECORD_HELP
    from routing_core.routing.references import NAMED_RECORDS

    assert {record.kind for record in NAMED_RECORDS.values()} <= set(RECORD_HELP)


async def test_a_refused_value_is_told_in_the_viewers_language(admin: Pages, app):  # noqa: F811
    """Next to its field, in French: what a form's model refuses, and what an action's
    parameters refuse (the field's path kept, the domain's own sentences as written)."""
    await admin.get("/admin/smart-routings/new")
    refused = await admin.client.post("/admin/smart-routings/new", headers={
        "Accept-Language": "fr"}, form={"name": "n" * 201, "reference": "-ventes",
                                        "type": "start", "csrf_token": admin.csrf})
    text = unescape(await refused.get_data(as_text=True))
    assert "au plus 200 caractères" in text
    assert "utilisez des lettres, des chiffres" in text
    await admin.post("/admin/smart-routings/new", {"name": "Ventes", "reference": "ventes",
                                                   "type": "start"})
    taken = await admin.client.post("/admin/smart-routings/new", headers={
        "Accept-Language": "fr"}, form={"name": "Encore", "reference": "ventes",
                                        "type": "start", "csrf_token": admin.csrf})
    said = unescape(await taken.get_data(as_text=True))
    assert "la référence 'ventes' est déjà utilisée" in said, said  # the domain's, in French

    from quart import g

    from routing_core.actions.base import parse_params
    from routing_core.infra.errors import Invalid

    async with app.test_request_context("/admin/"):
        g.language = "fr"
        try:
            parse_params("message", {"text": "x", "media_urls": ["u"] * 11})
        except Invalid as error:
            assert i18n.said(error) == "params.media_urls: au plus 10 éléments"
        else:
            raise AssertionError("eleven media were accepted")
        unknown = Invalid("a line no catalogue lists")
        assert i18n.said(unknown) == "a line no catalogue lists"
        from routing_core.infra.errors import NotFound, Words

        generic = NotFound(Words("no %(what)s named %(name)r", what="value table", name="tarifs"))
        assert i18n.said(generic) == "table de valeurs : aucun élément nommé 'tarifs'"
