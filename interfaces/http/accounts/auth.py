"""Commands of the auth flow: register, verify, log in, refresh, log out, passwords, own profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from application.accounts.application import AccountsApplication, SessionGrant
from application.accounts.mail_policy import RESET_PURPOSE, VERIFY_PURPOSE
from application.accounts.ports import TokenSigner
from domain.accounts.permissions import PROFILE_UPDATE
from infrastructure.shared.tokens import AccessClaims, InvalidJwt, RefreshClaims
from interfaces.http.accounts.schemas import (
    ChangePasswordRequest,
    CloseOwnAccountRequest,
    ForgotPasswordRequest,
    LoginRequest,
    PasswordResetRequested,
    ProfileFields,
    RefreshRequest,
    RegisterRequest,
    ResetPasswordRequest,
    TokenPair,
    TokenRequest,
)
from interfaces.http.shared.auth import TOKEN_URL, Principal, Public, Tokens, invalid_token, require
from interfaces.http.shared.commands import Cmd, CredentialsCtx, Ctx, Now, PublicCmd, PublicCtx, accepted
from interfaces.http.shared.openapi import problems
from interfaces.http.shared.ratelimit import CredentialAttempts
from interfaces.http.shared.schemas import CommandAccepted
from interfaces.http.shared.services import provide

router = APIRouter(prefix="/api/v1/auth", tags=["auth: commands"])

Accounts = Annotated[AccountsApplication, provide(AccountsApplication)]
Signer = Annotated[TokenSigner, provide(TokenSigner)]
SelfService = Annotated[Principal, Depends(require(PROFILE_UPDATE))]


def _tokens(tokens: Tokens, clock: Now, grant: SessionGrant) -> TokenPair:
    now = clock()
    return TokenPair(
        id=grant.result.id,
        version=grant.result.version,
        position=grant.result.position,
        access_token=tokens.access_token(AccessClaims(grant.account_id, grant.session_id, grant.result.position), now),
        refresh_token=tokens.refresh_token(RefreshClaims(grant.account_id, grant.session_id, grant.token_id), now),
        expires_in=int(tokens.access_ttl.total_seconds()),
    )


@router.post("/register", status_code=status.HTTP_201_CREATED, dependencies=[Public, CredentialAttempts])
def register(body: RegisterRequest, cmd: PublicCmd, accounts: Accounts) -> CommandAccepted:
    """Register an account; a verification mail follows unless AUTO_VERIFY_EMAIL is on."""
    profile = body.to_profile()
    return cmd.accepted(
        accounts.register_account(cmd.ctx, email=str(body.email), password=body.password, profile=profile)
    )


@router.post("/verify-email", dependencies=[Public], responses=problems(400))
def verify_email(body: TokenRequest, ctx: PublicCtx, accounts: Accounts, signer: Signer) -> CommandAccepted:
    """Verify an email address with the token from the verification mail."""
    account_id, nonce = signer.parse(VERIFY_PURPOSE, body.token)
    return accepted(accounts.verify_email(ctx, account_id, nonce))


@router.post("/login", dependencies=[Public, CredentialAttempts], responses=problems(401, 403, 423))
def login(body: LoginRequest, ctx: CredentialsCtx, accounts: Accounts, tokens: Tokens, clock: Now) -> TokenPair:
    """Exchange email and password for an access token and a refresh token."""
    return _tokens(tokens, clock, accounts.log_in(ctx, email=str(body.email), password=body.password))


@router.post(
    TOKEN_URL.removeprefix("/api/v1/auth"), dependencies=[Public, CredentialAttempts], responses=problems(401, 403, 423)
)
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    ctx: CredentialsCtx,
    accounts: Accounts,
    tokens: Tokens,
    clock: Now,
) -> TokenPair:
    """The OAuth2 password flow (a form with ``username`` = email and ``password``), as Swagger's Authorize uses it."""
    return _tokens(tokens, clock, accounts.log_in(ctx, email=form.username, password=form.password))


@router.post("/refresh", dependencies=[Public], responses=problems(401, 403))
def refresh(body: RefreshRequest, ctx: CredentialsCtx, accounts: Accounts, tokens: Tokens, clock: Now) -> TokenPair:
    """Rotate a refresh token; presenting an already-rotated one revokes its whole session."""
    try:
        claims = tokens.read_refresh(body.refresh_token)
    except InvalidJwt as error:
        raise invalid_token("refresh", error) from None
    grant = accounts.refresh_session(ctx, session_id=claims.session_id, token_id=claims.token_id)
    return _tokens(tokens, clock, grant)


@router.post("/logout")
def logout(ctx: Ctx, accounts: Accounts, principal: SelfService) -> CommandAccepted:
    """Revoke the session of this access token, and with it every refresh token of the session."""
    return accepted(accounts.log_out(ctx, session_id=principal.session_id))


@router.post("/forgot-password", status_code=status.HTTP_202_ACCEPTED, dependencies=[Public, CredentialAttempts])
def forgot_password(body: ForgotPasswordRequest, ctx: PublicCtx, accounts: Accounts) -> PasswordResetRequested:
    """Mail a reset token if the account exists; the answer is the same either way."""
    accounts.request_password_reset(ctx, email=str(body.email))
    return PasswordResetRequested(detail="If an account with this email exists, a reset mail is on its way.")


@router.post("/reset-password", dependencies=[Public], responses=problems(400))
def reset_password(body: ResetPasswordRequest, ctx: PublicCtx, accounts: Accounts, signer: Signer) -> CommandAccepted:
    """Set a new password with the token from the reset mail."""
    account_id, nonce = signer.parse(RESET_PURPOSE, body.token)
    return accepted(accounts.reset_password(ctx, account_id, nonce=nonce, new=body.new_password))


@router.post("/change-password")
def change_password(
    body: ChangePasswordRequest, cmd: Cmd, accounts: Accounts, principal: SelfService
) -> CommandAccepted:
    """Change your password (the current one is required)."""
    result = accounts.change_password(
        cmd.ctx,
        principal.account_id,
        current=body.current_password,
        new=body.new_password,
        expected_version=cmd.expected_version,
    )
    return accepted(result)


@router.patch("/me")
def update_profile(body: ProfileFields, cmd: Cmd, accounts: Accounts, principal: SelfService) -> CommandAccepted:
    """Replace your profile (names, phone, birthday)."""
    return cmd.accepted(
        accounts.update_profile(cmd.ctx, principal.account_id, body.to_profile(), expected_version=cmd.expected_version)
    )


@router.post("/me/close")
def close_own_account(
    body: CloseOwnAccountRequest, ctx: Ctx, accounts: Accounts, principal: SelfService
) -> CommandAccepted:
    """Close your own account (confirm with your password); every later command on it is refused."""
    return accepted(accounts.close_own_account(ctx, principal.account_id, password=body.password))
