"""Logging in and out of the admin pages."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, current_app, flash, redirect, request, session, url_for

from admin.context import client_address, services
from admin.i18n import phrase, said
from admin.pages.security import TOKEN_SESSION_KEY, safe_next, start_session
from admin.pages.views import page
from routing_core.infra.errors import Unauthenticated
from routing_core.infra.throttle import LoginThrottle, TooManyAttempts
from routing_core.model.users import User

blueprint = Blueprint("auth", __name__)


@blueprint.get("/login")
async def login() -> Any:
    return await page("login.html", next=request.args.get("next", ""), email="")


@blueprint.post("/login")
async def login_post() -> Any:
    form = await request.form
    email, password = form.get("email", "").strip(), form.get("password", "")
    accounts = services().accounts

    async def authenticate() -> User:
        return await accounts.authenticate(email, password)

    throttle: LoginThrottle | None = current_app.extensions.get("login_throttle")
    try:
        if throttle is None:
            user = await authenticate()
        else:  # the same limits as the API's login: one brute-force guard for both
            user = await throttle.attempt(email, client_address(), authenticate)
    except (Unauthenticated, TooManyAttempts) as refusal:
        too_many = isinstance(refusal, TooManyAttempts)
        return await page(
            "login.html", refusal.status, next=form.get("next", ""), email=email,
            error=f"Too many failed logins: {said(refusal)}." if too_many
            else "Wrong e-mail or password.",
        )
    start_session(await accounts.issue_token(user))
    return redirect(safe_next(form.get("next"), url_for("pages.home")))


@blueprint.post("/logout")
async def logout() -> Any:
    token = session.get(TOKEN_SESSION_KEY)
    if token:
        await services().accounts.revoke_token(token)
    session.clear()
    await flash(phrase("You are logged out."), "info")
    return redirect(url_for("pages.auth.login"))
