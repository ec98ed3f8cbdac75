"""Commands of the auth flow: register, verify, login, refresh, logout, passwords, own profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from application.accounts import SessionGrant
from application.mail_policy import RESET_PURPOSE, VERIFY_PURPOSE
from domain.permissions import PROFILE_UPDATE
from infrastructure.container import Container
from infrastructure.security import AccessClaims, InvalidJwt, RefreshClaims
from interfaces.http.deps import (
    AccountsApp,
    ContainerDep,
    Ctx,
    ExpectedVersion,
    Principal,
    Public,
    accepted,
    require,
)
from interfaces.http.problems import Problem
from interfaces.http.schemas import (
    ChangePasswordRequest,
    CloseOwnAccountRequest,
    CommandAccepted,
    ForgotPasswordRequest,
    LoginRequest,
    ProfileFields,
    RefreshRequest,
    RegisterRequest,
    ResetPasswordRequest,
    TokenPair,
    TokenRequest,
)

router = APIRouter(prefix="/api/v1/auth", tags=["auth: commands"])

SelfService = Annotated[Principal, Depends(require(PROFILE_UPDATE))]


def _tokens(container: Container, grant: SessionGrant) -> TokenPair:
    now = container.clock()
    tokens = container.tokens
    return TokenPair(
        id=grant.result.id,
        version=grant.result.version,
        position=grant.result.position,
        access_token=tokens.access_token(AccessClaims(grant.account_id, grant.session_id, grant.roles), now),
        refresh_token=tokens.refresh_token(RefreshClaims(grant.account_id, grant.session_id, grant.token_id), now),
        expires_in=int(tokens.access_ttl.total_seconds()),
    )


@router.post("/register", status_code=status.HTTP_201_CREATED, dependencies=[Public])
def register(body: RegisterRequest, ctx: Ctx, accounts: AccountsApp, response: Response) -> CommandAccepted:
    """Register an account; a verification mail follows unless AUTO_VERIFY_EMAIL is on."""
    return accepted(
        accounts.register(ctx, email=str(body.email), password=body.password, profile=body.to_profile()), response
    )


@router.post("/verify-email", dependencies=[Public])
def verify_email(body: TokenRequest, ctx: Ctx, accounts: AccountsApp, container: ContainerDep) -> CommandAccepted:
    """Verify an email address with the token from the verification mail."""
    account_id, nonce = container.signer.parse(VERIFY_PURPOSE, body.token)
    return accepted(accounts.verify_email(ctx, account_id, nonce))


@router.post("/login", dependencies=[Public])
def login(body: LoginRequest, ctx: Ctx, accounts: AccountsApp, container: ContainerDep) -> TokenPair:
    """Exchange email and password for an access token and a refresh token."""
    return _tokens(container, accounts.login(ctx, email=str(body.email), password=body.password))


@router.post("/refresh", dependencies=[Public])
def refresh(body: RefreshRequest, ctx: Ctx, accounts: AccountsApp, container: ContainerDep) -> TokenPair:
    """Rotate a refresh token; presenting an already-rotated one revokes its whole session."""
    try:
        claims = container.tokens.read_refresh(body.refresh_token)
    except InvalidJwt as error:
        raise Problem(
            401, "invalid_token", "Authentication required", f"The refresh token is not valid: {error}"
        ) from None
    grant = accounts.refresh(ctx, session_id=claims.session_id, token_id=claims.token_id)
    return _tokens(container, grant)


@router.post("/logout")
def logout(ctx: Ctx, accounts: AccountsApp, principal: SelfService) -> CommandAccepted:
    """Revoke the session of this access token, and with it every refresh token of the session."""
    return accepted(accounts.logout(ctx, session_id=principal.session_id))


@router.post("/forgot-password", status_code=status.HTTP_202_ACCEPTED, dependencies=[Public])
def forgot_password(body: ForgotPasswordRequest, ctx: Ctx, accounts: AccountsApp) -> dict[str, str]:
    """Mail a reset token if the account exists; the answer is the same either way."""
    accounts.request_password_reset(ctx, email=str(body.email))
    return {"detail": "If an account with this email exists, a reset mail is on its way."}


@router.post("/reset-password", dependencies=[Public])
def reset_password(
    body: ResetPasswordRequest, ctx: Ctx, accounts: AccountsApp, container: ContainerDep
) -> CommandAccepted:
    """Set a new password with the token from the reset mail."""
    account_id, nonce = container.signer.parse(RESET_PURPOSE, body.token)
    return accepted(accounts.reset_password(ctx, account_id, nonce=nonce, new=body.new_password))


@router.post("/change-password")
def change_password(
    body: ChangePasswordRequest,
    ctx: Ctx,
    accounts: AccountsApp,
    principal: SelfService,
    version: ExpectedVersion,
) -> CommandAccepted:
    """Change your password (the current one is required)."""
    result = accounts.change_password(
        ctx, principal.account_id, current=body.current_password, new=body.new_password, expected_version=version
    )
    return accepted(result)


@router.patch("/me")
def update_profile(
    body: ProfileFields,
    ctx: Ctx,
    accounts: AccountsApp,
    version: ExpectedVersion,
    response: Response,
    principal: SelfService,
) -> CommandAccepted:
    """Replace your profile (names, phone, birthday)."""
    return accepted(
        accounts.update_profile(ctx, principal.account_id, body.to_profile(), expected_version=version), response
    )


@router.post("/me/close")
def close_own_account(
    body: CloseOwnAccountRequest, ctx: Ctx, accounts: AccountsApp, principal: SelfService
) -> CommandAccepted:
    """Close your own account (confirm with your password); every later command on it is refused."""
    return accepted(accounts.close_own_account(ctx, principal.account_id, password=body.password))
