"""Request and response models of the HTTP API (pydantic lives only at this edge)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, EmailStr, Field, StringConstraints, field_validator, model_validator

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
CountryCode = Annotated[str, Field(pattern=r"^\+?[0-9]{1,4}$", examples=["+351"])]
MobileNumber = Annotated[str, Field(pattern=r"^[0-9]{4,15}$", examples=["912345678"])]


class ProfileFields(Strict):
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
    email: EmailStr
    password: Password


class LoginRequest(Strict):
    email: EmailStr
    password: Annotated[str, Field(min_length=1, max_length=256)]


class RefreshRequest(Strict):
    refresh_token: str


class TokenRequest(Strict):
    token: Annotated[str, Field(min_length=10, max_length=512)]


class ForgotPasswordRequest(Strict):
    email: EmailStr


class ResetPasswordRequest(Strict):
    token: Annotated[str, Field(min_length=10, max_length=512)]
    new_password: Password


class ChangePasswordRequest(Strict):
    current_password: Annotated[str, Field(min_length=1, max_length=256)]
    new_password: Password


class CloseOwnAccountRequest(Strict):
    password: Annotated[str, Field(min_length=1, max_length=256)]


class RoleRequest(Strict):
    role: Annotated[
        str, Field(min_length=1, max_length=32, json_schema_extra={"enum": sorted(Role)}, examples=["manager"])
    ]


class TokenPair(CommandAccepted):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


class AccountPublic(BaseModel):
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
