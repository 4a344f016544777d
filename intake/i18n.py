"""Page texts in English, German and French, and the choice of language.

Order of choice: `?lang=` (the switch on every page, remembered in a cookie), the form's hidden
`lang` field, the `intake_lang` cookie, then `Accept-Language` (q-values honoured), else English.
"""

from __future__ import annotations

LANGUAGES: tuple[str, ...] = ("en", "de", "fr")
DEFAULT = "en"
NAMES = {"en": "English", "de": "Deutsch", "fr": "Français"}

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "index_lead": "If you use our platforms, please open the link in the notification we sent you.",
        "title": "Object to the use of your content for AI training",
        "intro": ("You can object to the use of what you shared publicly for training AI models, "
                  "or withdraw an earlier objection."),
        "user_lead": "You opened this page from the link in our notification.",
        "choose": "What would you like to do?",
        "object": "I object: do not use my content for AI training",
        "withdraw": "I withdraw my earlier objection",
        "submit": "Send",
        "nonuser_link": "Not a user of our platforms? Object as a person named in others' posts",
        "nonuser_title": "Object as a person who is not a user",
        "nonuser_intro": ("If you do not use our platforms but appear in other people's public posts, give the "
                          "identifiers under which you appear. Content that names you by them is left out."),
        "full_name": "Full name",
        "email": "E-mail address (we send a confirmation code to it)",
        "phone": "Phone number (optional)",
        "handles": "Handles or user names, separated by commas (optional)",
        "continue": "Continue",
        "confirm_title": "Confirm your e-mail address",
        "confirm_intro": ("If the address you gave can receive mail, we have sent a 6-digit code to it. "
                          "Enter it below; nothing is recorded until you do."),
        "code": "Confirmation code",
        "confirm": "Confirm",
        "receipt_title": "Your request has been recorded",
        "receipt_object": "Objection",
        "receipt_withdraw": "Withdrawal of an objection",
        "receipt_id": "Submission id",
        "receipt_at": "Received at",
        "receipt_effect": ("It takes effect with the next corpus release: every release built after this time "
                           "applies it. Keep the submission id for your records."),
        "receipt_kind": "Request",
        "err_title": "This page cannot be shown",
        "err_forged": "This link is not valid. Please use the link from your notification exactly as sent.",
        "err_expired": "This link has expired. Please use the link from your latest notification.",
        "err_form_expired": "This form has expired. Please open it again.",
        "err_csrf": "Your session does not match this form. Please reload the form and send it again.",
        "err_rate": "Too many requests from your address. Please wait a minute and try again.",
        "err_size": "The request is too large.",
        "err_bad_request": "The request could not be read. Please open the form again.",
        "err_missing": "Please fill in this field.",
        "err_too_long": "This is too long.",
        "err_email": "Please enter a valid e-mail address.",
        "err_phone": "Please enter a phone number (digits, spaces, +, -, parentheses).",
        "err_handles": "Please give at most 20 handles of up to 64 characters, without spaces.",
        "err_action": "Please choose one of the options.",
        "err_code": "The code is not correct.",
        "err_attempts": "Too many wrong codes. Please start again.",
        "err_not_found": "There is no such page.",
        "mail_subject": "Your confirmation code",
        "mail_body": ("Your confirmation code is {code}.\n\nEnter it on the page where you submitted your request. "
                      "If you did not ask for this, ignore this message: nothing is recorded without the code."),
        "language": "Language",
    },
    "de": {
        "index_lead": ("Wenn Sie unsere Plattformen nutzen, öffnen Sie bitte den Link in der Benachrichtigung, "
                       "die wir Ihnen gesendet haben."),
        "title": "Widerspruch gegen die Nutzung Ihrer Inhalte für KI-Training",
        "intro": ("Sie können der Nutzung dessen, was Sie öffentlich geteilt haben, für das Training von "
                  "KI-Modellen widersprechen oder einen früheren Widerspruch zurücknehmen."),
        "user_lead": "Sie haben diese Seite über den Link in unserer Benachrichtigung geöffnet.",
        "choose": "Was möchten Sie tun?",
        "object": "Ich widerspreche: Meine Inhalte nicht für KI-Training nutzen",
        "withdraw": "Ich nehme meinen früheren Widerspruch zurück",
        "submit": "Senden",
        "nonuser_link": "Keine Nutzerin, kein Nutzer? Als in Beiträgen anderer genannte Person widersprechen",
        "nonuser_title": "Widerspruch als Person ohne Nutzerkonto",
        "nonuser_intro": ("Wenn Sie unsere Plattformen nicht nutzen, aber in öffentlichen Beiträgen anderer "
                          "vorkommen, nennen Sie die Angaben, unter denen Sie dort erscheinen. Inhalte, die Sie "
                          "damit nennen, werden ausgelassen."),
        "full_name": "Vollständiger Name",
        "email": "E-Mail-Adresse (wir senden einen Bestätigungscode dorthin)",
        "phone": "Telefonnummer (optional)",
        "handles": "Benutzernamen, durch Kommas getrennt (optional)",
        "continue": "Weiter",
        "confirm_title": "Bestätigen Sie Ihre E-Mail-Adresse",
        "confirm_intro": ("Falls die angegebene Adresse E-Mails empfangen kann, haben wir einen 6-stelligen Code "
                          "dorthin gesendet. Geben Sie ihn unten ein; erst dann wird etwas erfasst."),
        "code": "Bestätigungscode",
        "confirm": "Bestätigen",
        "receipt_title": "Ihr Anliegen wurde erfasst",
        "receipt_object": "Widerspruch",
        "receipt_withdraw": "Rücknahme eines Widerspruchs",
        "receipt_id": "Vorgangsnummer",
        "receipt_at": "Eingegangen am",
        "receipt_effect": ("Es wird mit der nächsten Korpus-Veröffentlichung wirksam: Jede danach erstellte "
                           "Veröffentlichung berücksichtigt es. Bewahren Sie die Vorgangsnummer auf."),
        "receipt_kind": "Anliegen",
        "err_title": "Diese Seite kann nicht angezeigt werden",
        "err_forged": "Dieser Link ist ungültig. Bitte verwenden Sie den Link aus Ihrer Benachrichtigung unverändert.",
        "err_expired": "Dieser Link ist abgelaufen. Bitte verwenden Sie den Link aus Ihrer neuesten Benachrichtigung.",
        "err_form_expired": "Dieses Formular ist abgelaufen. Bitte öffnen Sie es erneut.",
        "err_csrf": "Ihre Sitzung passt nicht zu diesem Formular. Bitte laden Sie es neu und senden Sie es erneut.",
        "err_rate": "Zu viele Anfragen von Ihrer Adresse. Bitte warten Sie eine Minute.",
        "err_size": "Die Anfrage ist zu groß.",
        "err_bad_request": "Die Anfrage konnte nicht gelesen werden. Bitte öffnen Sie das Formular erneut.",
        "err_missing": "Bitte füllen Sie dieses Feld aus.",
        "err_too_long": "Dies ist zu lang.",
        "err_email": "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
        "err_phone": "Bitte geben Sie eine Telefonnummer ein (Ziffern, Leerzeichen, +, -, Klammern).",
        "err_handles": "Bitte höchstens 20 Benutzernamen mit bis zu 64 Zeichen, ohne Leerzeichen.",
        "err_action": "Bitte wählen Sie eine der Möglichkeiten.",
        "err_code": "Der Code ist nicht korrekt.",
        "err_attempts": "Zu viele falsche Codes. Bitte beginnen Sie von vorn.",
        "err_not_found": "Diese Seite gibt es nicht.",
        "mail_subject": "Ihr Bestätigungscode",
        "mail_body": ("Ihr Bestätigungscode lautet {code}.\n\nGeben Sie ihn auf der Seite ein, auf der Sie Ihr "
                      "Anliegen gesendet haben. Wenn Sie das nicht waren, ignorieren Sie diese Nachricht: "
                      "Ohne den Code wird nichts erfasst."),
        "language": "Sprache",
    },
    "fr": {
        "index_lead": ("Si vous utilisez nos plateformes, ouvrez le lien de la notification que nous vous "
                       "avons envoyée."),
        "title": "Vous opposer à l'utilisation de vos contenus pour l'entraînement de l'IA",
        "intro": ("Vous pouvez vous opposer à l'utilisation de ce que vous avez partagé publiquement pour "
                  "entraîner des modèles d'IA, ou retirer une opposition antérieure."),
        "user_lead": "Vous avez ouvert cette page depuis le lien de notre notification.",
        "choose": "Que souhaitez-vous faire ?",
        "object": "Je m'oppose : ne pas utiliser mes contenus pour l'entraînement de l'IA",
        "withdraw": "Je retire mon opposition antérieure",
        "submit": "Envoyer",
        "nonuser_link": "Vous n'êtes pas utilisateur ? Opposez-vous en tant que personne citée par d'autres",
        "nonuser_title": "Opposition d'une personne qui n'est pas utilisatrice",
        "nonuser_intro": ("Si vous n'utilisez pas nos plateformes mais apparaissez dans les publications publiques "
                          "d'autres personnes, indiquez les identifiants sous lesquels vous y apparaissez. Les "
                          "contenus qui vous citent ainsi sont écartés."),
        "full_name": "Nom complet",
        "email": "Adresse e-mail (nous y envoyons un code de confirmation)",
        "phone": "Numéro de téléphone (facultatif)",
        "handles": "Pseudonymes, séparés par des virgules (facultatif)",
        "continue": "Continuer",
        "confirm_title": "Confirmez votre adresse e-mail",
        "confirm_intro": ("Si l'adresse indiquée peut recevoir des e-mails, nous y avons envoyé un code à 6 chiffres. "
                          "Saisissez-le ci-dessous ; rien n'est enregistré avant."),
        "code": "Code de confirmation",
        "confirm": "Confirmer",
        "receipt_title": "Votre demande a été enregistrée",
        "receipt_object": "Opposition",
        "receipt_withdraw": "Retrait d'une opposition",
        "receipt_id": "Numéro de demande",
        "receipt_at": "Reçue le",
        "receipt_effect": ("Elle prend effet à la prochaine publication du corpus : chaque publication construite "
                           "après cette heure l'applique. Conservez le numéro de demande."),
        "receipt_kind": "Demande",
        "err_title": "Cette page ne peut pas être affichée",
        "err_forged": "Ce lien n'est pas valide. Utilisez le lien de votre notification tel quel.",
        "err_expired": "Ce lien a expiré. Utilisez le lien de votre dernière notification.",
        "err_form_expired": "Ce formulaire a expiré. Veuillez l'ouvrir à nouveau.",
        "err_csrf": "Votre session ne correspond pas à ce formulaire. Rechargez-le et envoyez-le à nouveau.",
        "err_rate": "Trop de requêtes depuis votre adresse. Patientez une minute.",
        "err_size": "La requête est trop volumineuse.",
        "err_bad_request": "La requête n'a pas pu être lue. Veuillez rouvrir le formulaire.",
        "err_missing": "Veuillez remplir ce champ.",
        "err_too_long": "C'est trop long.",
        "err_email": "Veuillez saisir une adresse e-mail valide.",
        "err_phone": "Veuillez saisir un numéro de téléphone (chiffres, espaces, +, -, parenthèses).",
        "err_handles": "Au plus 20 pseudonymes de 64 caractères au plus, sans espaces.",
        "err_action": "Veuillez choisir l'une des options.",
        "err_code": "Le code n'est pas correct.",
        "err_attempts": "Trop de codes erronés. Veuillez recommencer.",
        "err_not_found": "Cette page n'existe pas.",
        "mail_subject": "Votre code de confirmation",
        "mail_body": ("Votre code de confirmation est {code}.\n\nSaisissez-le sur la page où vous avez envoyé votre "
                      "demande. Si ce n'était pas vous, ignorez ce message : rien n'est enregistré sans le code."),
        "language": "Langue",
    },
}


def parse_accept_language(header: str | None) -> str | None:
    """The supported language the browser prefers most (q-values honoured), or None."""
    if not header:
        return None
    best: tuple[float, int, str] | None = None
    for position, item in enumerate(header.split(",")[:20]):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        base = tag.strip().lower().split("-")[0]
        if base in LANGUAGES and q > 0 and (best is None or (q, -position) > (best[0], best[1])):
            best = (q, -position, base)
    return best[2] if best else None


def choose(query: str | None, form: str | None, cookie: str | None, accept_language: str | None) -> str:
    for candidate in (query, form, cookie):
        if candidate in LANGUAGES:
            return candidate
    return parse_accept_language(accept_language) or DEFAULT

