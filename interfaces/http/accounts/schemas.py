"""Request and response models of the HTTP API (pydantic lives only at this edge)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator, model_validator

from domain.accounts.values import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, AccountStatus, Profile
from domain.shared.access import Role
from interfaces.http.shared.schemas import CommandAccepted, Page, Strict

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
# The schema says what the server checks: 8+ characters with a letter and a digit.
Password = Annotated[
    str,
    Field(
        min_length=PASSWORD_MIN_LENGTH,
        max_length=PASSWORD_MAX_LENGTH,
        # Documented here, checked by the domain's password policy (422 weak_password).
        json_schema_extra={"pattern": r"^(?=.*[^\W\d_])(?=.*\d)"},
        description="At least 8 characters, with at least one letter and one digit",
        examples=["Corr3ct-horse"],
    ),
]
CountryCode = Annotated[str, Field(max_length=5, pattern=r"^\+?[0-9]{1,4}$", examples=["+351"])]
MobileNumber = Annotated[str, Field(max_length=15, pattern=r"^[0-9]{4,15}$", examples=["912345678"])]
# Long enough for any token the server signs (a few hundred characters), short enough to bound the work.
MAX_JWT_LENGTH = 4096

# The examples' values, real in shape: the tokens are signed with a secret that is not the server's.
_ACCOUNT_ID = "3b9d2f4e-8a1c-4e7b-9f20-5c6d7e8f9a01"
_PROFILE: dict[str, Any] = {
    "first_name": "Ana",
    "last_name": "Silva",
    "phone_country_code": "+351",
    "phone_number": "912345678",
    "birthday": "1990-04-17",
}
_PASSWORD = "Corr3ct-horse"  # noqa: S105 - an example in the API's documentation
_NEW_PASSWORD = "N3w-passphrase"  # noqa: S105 - an example in the API's documentation
_ACCESS_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0eXAiOiJhY2Nlc3MiLCJzdWIiOiIzYjlkMmY0ZS04YTFjLTRlN2ItOWYyMC01YzZkN2U4Zj"  # noqa: S105
    "lhMDEiLCJzaWQiOiI1ZTBhN2IzYy0xZDJmLTRhNmItOGM5ZC1lMGYxYTJiM2M0ZDUiLCJyb2xlcyI6WyJvcGVyYXRvciIsInVzZXIiXSwiaWF0"
    "IjoxNzk2MTE3NDAwLCJleHAiOjE3OTYxMTgzMDAsImp0aSI6IjY3YWU2MThkLThlY2QtNDkwMC1iY2E3LTUwNmQwYjBmYjVjYSJ9.XtVbEO69C7"
    "26o1POh8cGvIjpB5uNCHJPO_qAebCSBzg"
)
_REFRESH_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0eXAiOiJyZWZyZXNoIiwic3ViIjoiM2I5ZDJmNGUtOGExYy00ZTdiLTlmMjAtNWM2ZDdlOG"  # noqa: S105
    "Y5YTAxIiwic2lkIjoiNWUwYTdiM2MtMWQyZi00YTZiLThjOWQtZTBmMWEyYjNjNGQ1IiwianRpIjoiOWQ4YzdiNmEtNWY0ZS00ZDNjLWEyYjEt"
    "MGY5ZThkN2M2YjVhIiwiaWF0IjoxNzk2MTE3NDAwLCJleHAiOjE3OTczMjcwMDB9.0V-e4zzzIVF8Dnes9n2LX1JW89Es4mssfl2cLobRdbA"
)
# ``<account>.<nonce>.<mac>``, as the verification and reset mails carry them.
_VERIFY_TOKEN = "O50vToocTnufIFxtfo-aAQ.q3Jx0b7Vt2kNw9cY5mZr1aHs6LdE4fGp.QPC0va7Ikh7hQ87rm2LrxPyvcQ5ndUqwKiun4OjuEs4"  # noqa: S105
_RESET_TOKEN = "O50vToocTnufIFxtfo-aAQ.Zp8Rk2vWm5Qc9Ly3Tn7Bx1Hd4Jf6Gs0A.6TUR-xT_iUFZ43o78u0WW5La82M8ZaGcMTJXF768ndQ"  # noqa: S105


class ProfileFields(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [_PROFILE, {"first_name": "Rui", "last_name": "Costa"}]},
    )

    first_name: Name
    last_name: Name
    phone_country_code: CountryCode | None = None
    phone_number: MobileNumber | None = None
    birthday: date | None = None

    @field_validator("birthday")
    @classmethod
    def _not_in_future(cls, value: date | None) -> date | None:
        if value is not None and value > datetime.now(UTC).date():
            raise ValueError("birthday cannot be in the future")
        return value

    @model_validator(mode="after")
    def _phone_both_or_neither(self) -> Self:
        if (self.phone_country_code is None) != (self.phone_number is None):
            raise ValueError("phone_country_code and phone_number go together: send both or neither")
        return self

    def to_profile(self) -> Profile:
        return Profile(
            first_name=self.first_name,
            last_name=self.last_name,
            phone_country_code=self.phone_country_code,
            phone_number=self.phone_number,
            birthday=self.birthday,
        )


class RegisterRequest(ProfileFields):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"email": "ana.silva@example.com", "password": _PASSWORD, **_PROFILE},
                {
                    "email": "rui.costa@example.com",
                    "password": "W3lder-pass",
                    "first_name": "Rui",
                    "last_name": "Costa",
                },
            ]
        },
    )

    email: EmailStr
    password: Password


class LoginRequest(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email": "ana.silva@example.com", "password": _PASSWORD}]}
    )

    email: EmailStr
    password: Annotated[str, Field(min_length=1, max_length=256)]


class RefreshRequest(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"refresh_token": _REFRESH_TOKEN}]})

    refresh_token: Annotated[str, Field(min_length=1, max_length=MAX_JWT_LENGTH)]


class TokenRequest(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"token": _VERIFY_TOKEN}]})

    token: Annotated[str, Field(min_length=10, max_length=512)]


class ForgotPasswordRequest(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"email": "ana.silva@example.com"}]})

    email: EmailStr


class ResetPasswordRequest(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"token": _RESET_TOKEN, "new_password": _NEW_PASSWORD}]}
    )

    token: Annotated[str, Field(min_length=10, max_length=512)]
    new_password: Password


class ChangePasswordRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"current_password": _PASSWORD, "new_password": _NEW_PASSWORD}]},
    )

    current_password: Annotated[str, Field(min_length=1, max_length=256)]
    new_password: Password


class CloseOwnAccountRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"password": _PASSWORD}, {"password": _PASSWORD, "erase": True}]},
    )

    password: Annotated[str, Field(min_length=1, max_length=256)]
    erase: bool = Field(
        default=False,
        strict=True,  # true or false only: "yes" or 1 is refused, not taken as a wish to erase
        description="Also erase your personal data (names, phone, birthday, email) for good: it reads as erased "
        "everywhere afterwards, and the address may register again",
    )


class RoleRequest(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "operator"}]})

    role: Annotated[
        str, Field(min_length=1, max_length=32, json_schema_extra={"enum": sorted(Role)}, examples=["manager"])
    ]


class TokenPair(CommandAccepted):
    """A login's answer: the account (id, version, position of the login's events) and its two tokens."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _ACCOUNT_ID,
                    "version": 4,
                    "position": 57,
                    "access_token": _ACCESS_TOKEN,
                    "refresh_token": _REFRESH_TOKEN,
                    "token_type": "bearer",
                    "expires_in": 900,
                }
            ]
        }
    )

    access_token: str
    refresh_token: Annotated[str, Field(min_length=1, max_length=MAX_JWT_LENGTH)]
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


# --- two-factor login ------------------------------------------------------------------

OneTimeCode = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{6}$",
        max_length=6,
        description="The 6-digit code your authenticator app shows",
        examples=["492039"],
    ),
]
RecoveryCode = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9]{5}-?[A-Za-z0-9]{5}$",
        max_length=11,
        description="One of the recovery codes given when two-factor login was turned on (each works once)",
        examples=["k7m2q-xp9rt"],
    ),
]
_CHALLENGE = "O50vToocTnufIFxtfo-aAQ.Vn3Qd8Lr6Tx1Kc5Hm9Pz2Wb4Yf7Ja0Se.sV0cX1q1R9mKx4o3s8hBzQp2wE6uT7yN5aLdGjFkHiM"


class LoginChallengeIssued(BaseModel):
    """The password was right and two-factor login is on: send the challenge with a code to ``/login/2fa``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _ACCOUNT_ID,
                    "version": 5,
                    "position": 61,
                    "second_factor_required": True,
                    "challenge": _CHALLENGE,
                    "expires_in": 300,
                }
            ]
        }
    )

    id: UUID
    version: int
    position: int
    second_factor_required: Literal[True] = True
    challenge: str
    expires_in: int = Field(description="Seconds left to send the code")


class SecondFactorLogin(Strict):
    """The second login step: the challenge and either a current code or a recovery code."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"challenge": _CHALLENGE, "code": "492039"},
                {"challenge": _CHALLENGE, "recovery_code": "k7m2q-xp9rt"},
            ]
        },
    )

    challenge: Annotated[str, Field(min_length=10, max_length=512)]
    code: OneTimeCode | None = None
    recovery_code: RecoveryCode | None = None

    @model_validator(mode="after")
    def _one_of_the_two(self) -> Self:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("send either code or recovery_code, not both or neither")
        return self


class TwoFactorEnrolment(CommandAccepted):
    """A new seed for your authenticator app, shown this once; two-factor login is off until confirmed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _ACCOUNT_ID,
                    "version": 6,
                    "position": 64,
                    "secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
                    "otpauth_uri": "otpauth://totp/Chronicle:ana.silva%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DP"
                    "EHPK3PXP&issuer=Chronicle",
                }
            ]
        }
    )

    secret: str = Field(description="The TOTP seed, base32 (for typing it into an app)")
    otpauth_uri: str = Field(description="The same seed as an otpauth:// URI (for a QR code)")


class TwoFactorCode(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"code": "492039"}]})

    code: OneTimeCode


class TwoFactorEnabled(CommandAccepted):
    """Two-factor login is on; the recovery codes are shown this once (each works once, instead of a code)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _ACCOUNT_ID,
                    "version": 7,
                    "position": 66,
                    "recovery_codes": ["k7m2q-xp9rt", "h3nvb-2wq8e", "z4c6m-ty7ka"],
                }
            ]
        }
    )

    recovery_codes: list[str]


class DisableTwoFactorRequest(Strict):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"password": _PASSWORD, "code": "492039"}]}
    )

    password: Annotated[str, Field(min_length=1, max_length=256)]
    code: OneTimeCode


class PasswordResetRequested(BaseModel):
    """The answer to a forgotten password: the same whether or not the account exists."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"detail": "If an account with this email exists, a reset mail is on its way."}]
        }
    )

    detail: str


class AccountPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _ACCOUNT_ID,
                    "email": "ana.silva@example.com",
                    **_PROFILE,
                    "roles": ["operator", "user"],
                    "status": "active",
                    "email_verified": True,
                    "failed_logins": 0,
                    "locked_until": None,
                    "last_login_at": "2026-12-01T09:30:00Z",
                    "created_at": "2026-11-28T14:02:11Z",
                    "updated_at": "2026-12-01T09:30:00Z",
                    "closed_at": None,
                    "version": 4,
                }
            ]
        }
    )

    id: UUID
    email: str
    first_name: str
    last_name: str
    phone_country_code: str | None
    phone_number: str | None
    birthday: date | None
    roles: list[Role]
    status: AccountStatus
    email_verified: bool
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int

    @field_validator("locked_until", "last_login_at", "created_at", "updated_at", "closed_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # SQLite hands datetimes back without a zone; every stored time is UTC.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


AccountList = Page[AccountPublic]
