// The pages' texts in German (first), English and Swedish. t(key, vars)
// gives the text in the chosen language, falling back to German; the choice
// comes from ?lang=, then the last choice on this browser, then the
// browser's languages.
const TEXTS = {
  de: {
    skip: 'Zum Inhalt springen', 'nav.label': 'Hauptmenü', 'lang.label': 'Sprache',
    signout: 'Abmelden', loading: 'Wird geladen …', error: 'Fehler: {detail}',
    signedIn: 'Angemeldet: {label} ({role})', 'role.admin': 'Administration',
    'role.coordinator': 'Koordination', 'role.consultant': 'Beratung Krankenkasse',
    'role.occupational_health': 'Betriebsärztlicher Dienst', 'role.integration': 'Integration',
    'nav.surveys': 'Befragungen', 'nav.alerts': 'Meldungen', 'nav.agreements': 'Vereinbarungen',
    'nav.report': 'Präventionsbericht', 'nav.deliveries': 'Benachrichtigungen',
    org: 'Organisation', yes: 'ja', no: 'nein', none: '–', notFound: 'Diese Seite gibt es nicht.',
    'signin.title': 'Anmelden',
    'signin.intro': 'Melden Sie sich mit Ihrem API-Token an. Es wird gegen ein Sitzungs-Cookie getauscht und nicht im Browser gespeichert.',
    'signin.token': 'API-Token', 'signin.submit': 'Anmelden',
    'signin.help': 'Beginnt mit „wh_“. Das Admin-Token steht beim Betrieb in var/admin.token.',
    'signin.empty': 'Bitte geben Sie Ihr API-Token ein.',
    'signin.bad': 'Dieses Token ist unbekannt, abgelaufen oder widerrufen.',
    'signin.role': 'Mit diesem Token gibt es keine Seiten (Integrationen nutzen die API).',
    'signin.other': 'Anmelden ist nicht gelungen: {detail}',
    'signin.problem': 'Es gibt ein Problem',
    'surveys.title': 'Befragungen', 'surveys.none': 'Noch keine Befragungen.',
    'surveys.caption': 'Alle Befragungen', 'col.title': 'Titel', 'col.state': 'Status',
    'col.created': 'Angelegt', 'col.org': 'Organisation',
    'state.draft': 'Entwurf', 'state.open': 'offen', 'state.closed': 'geschlossen',
    'surveys.new': 'Neue Befragung', 'survey.titleLabel': 'Titel',
    'survey.threshold': 'Anonymitätsschwelle (mindestens 5 Antworten je Zelle)',
    'survey.units': 'Einheiten, eine je Zeile: Schlüssel; Name; übergeordneter Schlüssel (optional)',
    'survey.questionnaire': 'Fragebogen: Kurzfassung mit den Dimensionen Arbeitsmenge, Unterstützung und Führung (7 Fragen), auf Deutsch und Englisch.',
    'survey.create': 'Befragung anlegen', 'survey.created': 'Befragung „{title}“ angelegt.',
    'survey.state': 'Status: {state}', 'survey.open': 'Befragung öffnen',
    'survey.close': 'Befragung schließen', 'survey.opened': 'Die Befragung ist jetzt offen.',
    'survey.closedNow': 'Die Befragung ist jetzt geschlossen.',
    'survey.threshold.show': 'Anonymitätsschwelle: {k}', 'survey.units.show': 'Einheiten',
    'survey.codesIssued': 'Ausgegebene Codes: {n}',
    'codes.title': 'Teilnahmecodes', 'codes.count': 'Anzahl', 'codes.unit': 'Einheit',
    'codes.wholeOrg': 'ganze Organisation', 'codes.delivery': 'Ausgabe',
    'codes.clear': 'als Liste anzeigen', 'codes.print': 'Druckbogen mit QR-Codes herunterladen (höchstens 100)',
    'codes.issue': 'Codes ausgeben', 'codes.shown': '{n} Codes – nur jetzt sichtbar, sie werden nicht gespeichert.',
    'codes.issuerNote': 'Wer Codes sieht, sieht die Ergebnisse dieser Befragung nicht (Vier-Augen-Prinzip).',
    'codes.caption': 'Ausgegebene Codes', 'codes.printed': 'Druckbogen mit {n} Codes heruntergeladen.',
    'results.link': 'Ergebnisse ansehen', 'results.title': 'Ergebnisse: {title}',
    'results.issuer': 'Sie haben Codes dieser Befragung gesehen; ihre Ergebnisse sieht eine andere Person (Vier-Augen-Prinzip).',
    'results.notClosed': 'Ergebnisse gibt es erst, wenn die Befragung geschlossen ist.',
    'results.caption': 'Heatmap: Mittelwerte 0–100 je Einheit und Dimension',
    'results.legend': 'Jede Zelle nennt den Mittelwert (0–100) und seine Bewertung: günstig (grün), mittel (gelb) oder kritisch (rot). „< {k}“ heißt verborgen: weniger als {k} Antworten, oder der Wert ließe sich aus anderen Zellen errechnen.',
    'band.green': 'günstig', 'band.amber': 'mittel', 'band.red': 'kritisch',
    'results.suppressed': 'verborgen', 'results.total': 'Gesamt', 'col.unit': 'Einheit',
    'col.n': 'Antworten', 'col.rate': 'Rücklauf',
    'results.hotspots': 'Handlungsbedarf (ungünstigste Werte)',
    'results.resources': 'Ressourcen (günstigste Werte)', 'results.noHighlights': 'Keine gezeigten Werte.',
    'results.compare': 'Vergleich mit einer früheren Befragung', 'results.compareNone': 'kein Vergleich',
    'results.compareApply': 'Vergleichen', 'results.change': '{v} ggü. früher',
    'results.csv': 'Ergebnisse als CSV herunterladen',
    'dim.higher': 'höher ist günstiger', 'dim.lower': 'niedriger ist günstiger',
    'alerts.title': 'Meldungen aus dem Screening',
    'alerts.intro': 'Dringende Meldungen stehen oben, dann die ältesten. Die Pseudonyme stammen aus dem meldenden System.',
    'alerts.none': 'Keine offenen Meldungen.', 'alerts.urgent': 'dringend', 'alerts.normal': 'normal',
    'alerts.heading': 'Meldung {subject}', 'alerts.opened': 'Eröffnet: {at}',
    'alerts.escalatesIn': 'Eskaliert in {t}, wenn nicht bestätigt', 'alerts.escalated': 'Eskaliert: {at}',
    'alerts.overdue': 'Frist überschritten, Eskalation steht an', 'alerts.state': 'Stand: {state}',
    'alert.open': 'offen', 'alert.acknowledged': 'bestätigt',
    'alert.support_offered': 'Unterstützung angeboten', 'alert.closed': 'abgeschlossen',
    'alerts.ack': 'Bestätigen', 'alerts.offer': 'Unterstützung anbieten',
    'alerts.note': 'Notiz (optional, ohne Gesundheitsdaten)', 'alerts.close': 'Abschließen',
    'alerts.outcome': 'Ergebnis', 'outcome.accepted': 'angenommen', 'outcome.declined': 'abgelehnt',
    'outcome.no_contact': 'kein Kontakt', 'alerts.done': 'Meldung {subject}: {state}.',
    'alerts.closedTitle': 'Abgeschlossene Meldungen', 'alerts.noneClosed': 'Noch keine.',
    'alerts.noteShow': 'Notiz: {note}', 'alerts.outcomeShow': 'Ergebnis: {o}',
    'agreements.title': 'Vereinbarungen', 'agreements.caption': 'Kooperationsvereinbarungen',
    'agreements.none': 'Keine Vereinbarungen.', 'col.phase': 'Phase', 'col.ends': 'Endet',
    'col.notice': 'Kündigungsfrist', 'col.daysNotice': 'Tage bis zur Frist',
    'phase.upcoming': 'bevorstehend', 'phase.active': 'laufend', 'phase.expired': 'beendet',
    'agreement.activities': 'Aktivitäten', 'agreement.reminders': 'Erinnerungen',
    'agreement.term': 'Laufzeit: {from} bis {to}', 'col.kind': 'Art', 'col.planned': 'Geplant am',
    'col.status': 'Status', 'col.participants': 'Teilnehmende', 'col.due': 'Fällig am',
    'col.daysBefore': 'Tage vor der Frist', 'col.sent': 'Gesendet', 'days': '{n} Tage',
    'deadlinePassed': 'Frist verstrichen', 'agreement.noActivities': 'Keine Aktivitäten.',
    'report.title': 'Präventionsbericht', 'report.insurer': 'Krankenkasse', 'report.year': 'Jahr',
    'report.show': 'Anzeigen', 'report.figures': 'Kennzahlen {year}',
    'report.agreements_active': 'Laufende Vereinbarungen', 'report.agreements_new': 'Neue Vereinbarungen',
    'report.organizations': 'Organisationen', 'report.employees_covered': 'Erreichte Beschäftigte',
    'report.activities_done': 'Durchgeführte Aktivitäten', 'report.participants': 'Teilnehmende',
    'report.byKind': 'Durchgeführte Aktivitäten nach Art',
    'report.byFocus': 'Vereinbarungen nach Handlungsfeld',
    'report.chartNote': 'Balkendiagramm; dieselben Zahlen stehen in der Tabelle darunter.',
    'report.noInsurer': 'Keine Krankenkasse sichtbar.', 'col.count': 'Anzahl',
    'deliveries.title': 'Benachrichtigungen', 'subscriptions.caption': 'Abonnements',
    'deliveries.caption': 'Zustellungen', 'col.events': 'Ereignisse', 'col.channel': 'Kanal',
    'col.target': 'Ziel', 'col.event': 'Ereignis', 'col.attempts': 'Versuche',
    'deliveries.retry': 'Erneut senden', 'deliveries.retried': 'Zustellung wird erneut versucht.',
    'status.pending': 'ausstehend', 'status.delivered': 'zugestellt', 'status.failed': 'fehlgeschlagen',
    'status.due': 'fällig', 'status.sent': 'gesendet', 'status.skipped': 'übersprungen',
    'status.planned': 'geplant', 'status.done': 'durchgeführt', 'status.cancelled': 'abgesagt',
    'deliveries.none': 'Keine.', 'deliveries.filter': 'Status', 'deliveries.all': 'alle',
    'kind.health_day': 'Gesundheitstag', 'kind.workshop': 'Workshop', 'kind.course': 'Kurs',
    'kind.leadership_training': 'Führungskräftetraining', 'kind.survey': 'Befragung',
    'kind.sick_leave_analysis': 'Arbeitsunfähigkeitsanalyse',
    'kind.steering_group_meeting': 'Steuerungskreis', 'kind.consultation': 'Beratung',
    'kind.other': 'Sonstiges', 'focus.work_design': 'Arbeitsgestaltung',
    'focus.healthy_leadership': 'Gesundheitsgerechte Führung', 'focus.movement': 'Bewegung',
    'focus.nutrition': 'Ernährung', 'focus.addiction_prevention': 'Suchtprävention',
    'focus.stress_management': 'Stressbewältigung', 'focus.physical_strain': 'Körperliche Belastung',
    'focus.networking': 'Vernetzung', 'focus.other': 'Sonstiges',
  },
  en: {
    skip: 'Skip to content', 'nav.label': 'Main menu', 'lang.label': 'Language',
    signout: 'Sign out', loading: 'Loading …', error: 'Error: {detail}',
    signedIn: 'Signed in: {label} ({role})', 'role.admin': 'Administration',
    'role.coordinator': 'Coordination', 'role.consultant': 'Insurer consultant',
    'role.occupational_health': 'Occupational health', 'role.integration': 'Integration',
    'nav.surveys': 'Surveys', 'nav.alerts': 'Alerts', 'nav.agreements': 'Agreements',
    'nav.report': 'Prevention report', 'nav.deliveries': 'Notifications',
    org: 'Organisation', yes: 'yes', no: 'no', notFound: 'There is no such page.',
    'signin.title': 'Sign in',
    'signin.intro': 'Sign in with your API token. It is exchanged for a session cookie and not kept in the browser.',
    'signin.token': 'API token', 'signin.submit': 'Sign in',
    'signin.help': 'Starts with “wh_”. The operator finds the admin token in var/admin.token.',
    'signin.empty': 'Please enter your API token.',
    'signin.bad': 'This token is unknown, expired or revoked.',
    'signin.role': 'This token has no pages (integrations use the API).',
    'signin.other': 'Signing in failed: {detail}', 'signin.problem': 'There is a problem',
    'surveys.title': 'Surveys', 'surveys.none': 'No surveys yet.', 'surveys.caption': 'All surveys',
    'col.title': 'Title', 'col.state': 'State', 'col.created': 'Created', 'col.org': 'Organisation',
    'state.draft': 'draft', 'state.open': 'open', 'state.closed': 'closed',
    'surveys.new': 'New survey', 'survey.titleLabel': 'Title',
    'survey.threshold': 'Anonymity threshold (at least 5 responses per cell)',
    'survey.units': 'Units, one per line: key; name; parent key (optional)',
    'survey.questionnaire': 'Questionnaire: short form with the dimensions workload, support and leadership (7 questions), in German and English.',
    'survey.create': 'Create survey', 'survey.created': 'Survey “{title}” created.',
    'survey.state': 'State: {state}', 'survey.open': 'Open survey', 'survey.close': 'Close survey',
    'survey.opened': 'The survey is now open.', 'survey.closedNow': 'The survey is now closed.',
    'survey.threshold.show': 'Anonymity threshold: {k}', 'survey.units.show': 'Units',
    'survey.codesIssued': 'Codes issued: {n}',
    'codes.title': 'Participation codes', 'codes.count': 'Number', 'codes.unit': 'Unit',
    'codes.wholeOrg': 'whole organisation', 'codes.delivery': 'Hand out',
    'codes.clear': 'show as a list', 'codes.print': 'download a print sheet with QR codes (at most 100)',
    'codes.issue': 'Issue codes', 'codes.shown': '{n} codes – shown only now, they are not stored.',
    'codes.issuerNote': 'Whoever sees codes does not see this survey’s results (four-eyes principle).',
    'codes.caption': 'Codes issued', 'codes.printed': 'Print sheet with {n} codes downloaded.',
    'results.link': 'See results', 'results.title': 'Results: {title}',
    'results.issuer': 'You have seen codes of this survey; its results are for someone else (four-eyes principle).',
    'results.notClosed': 'Results exist once the survey is closed.',
    'results.caption': 'Heat map: means 0–100 per unit and dimension',
    'results.legend': 'Each cell gives the mean (0–100) and its rating: favourable (green), middle (amber) or critical (red). “< {k}” means hidden: fewer than {k} responses, or the figure could be worked out from other cells.',
    'band.green': 'favourable', 'band.amber': 'middle', 'band.red': 'critical',
    'results.suppressed': 'hidden', 'results.total': 'Total', 'col.unit': 'Unit',
    'col.n': 'Responses', 'col.rate': 'Response rate',
    'results.hotspots': 'Needs action (least favourable)', 'results.resources': 'Resources (most favourable)',
    'results.noHighlights': 'No figures shown.', 'results.compare': 'Compare with an earlier survey',
    'results.compareNone': 'no comparison', 'results.compareApply': 'Compare',
    'results.change': '{v} vs. earlier', 'results.csv': 'Download results as CSV',
    'dim.higher': 'higher is better', 'dim.lower': 'lower is better',
    'alerts.title': 'Screening alerts',
    'alerts.intro': 'Urgent alerts first, then the oldest. Pseudonyms come from the reporting system.',
    'alerts.none': 'No open alerts.', 'alerts.urgent': 'urgent', 'alerts.normal': 'normal',
    'alerts.heading': 'Alert {subject}', 'alerts.opened': 'Opened: {at}',
    'alerts.escalatesIn': 'Escalates in {t} unless acknowledged', 'alerts.escalated': 'Escalated: {at}',
    'alerts.overdue': 'Past its limit, escalation pending', 'alerts.state': 'State: {state}',
    'alert.open': 'open', 'alert.acknowledged': 'acknowledged',
    'alert.support_offered': 'support offered', 'alert.closed': 'closed',
    'alerts.ack': 'Acknowledge', 'alerts.offer': 'Offer support',
    'alerts.note': 'Note (optional, no health data)', 'alerts.close': 'Close',
    'alerts.outcome': 'Outcome', 'outcome.accepted': 'accepted', 'outcome.declined': 'declined',
    'outcome.no_contact': 'no contact', 'alerts.done': 'Alert {subject}: {state}.',
    'alerts.closedTitle': 'Closed alerts', 'alerts.noneClosed': 'None yet.',
    'alerts.noteShow': 'Note: {note}', 'alerts.outcomeShow': 'Outcome: {o}',
    'agreements.title': 'Agreements', 'agreements.caption': 'Cooperation agreements',
    'agreements.none': 'No agreements.', 'col.phase': 'Phase', 'col.ends': 'Ends',
    'col.notice': 'Notice deadline', 'col.daysNotice': 'Days to deadline',
    'phase.upcoming': 'upcoming', 'phase.active': 'active', 'phase.expired': 'expired',
    'agreement.activities': 'Activities', 'agreement.reminders': 'Reminders',
    'agreement.term': 'Term: {from} to {to}', 'col.kind': 'Kind', 'col.planned': 'Planned on',
    'col.status': 'Status', 'col.participants': 'Participants', 'col.due': 'Due on',
    'col.daysBefore': 'Days before deadline', 'col.sent': 'Sent', 'days': '{n} days',
    'deadlinePassed': 'deadline passed', 'agreement.noActivities': 'No activities.',
    'report.title': 'Prevention report', 'report.insurer': 'Insurer', 'report.year': 'Year',
    'report.show': 'Show', 'report.figures': 'Figures {year}',
    'report.agreements_active': 'Active agreements', 'report.agreements_new': 'New agreements',
    'report.organizations': 'Organisations', 'report.employees_covered': 'Employees covered',
    'report.activities_done': 'Activities done', 'report.participants': 'Participants',
    'report.byKind': 'Activities done by kind', 'report.byFocus': 'Agreements by field of action',
    'report.chartNote': 'Bar chart; the same figures are in the table below.',
    'report.noInsurer': 'No insurer visible.', 'col.count': 'Count',
    'deliveries.title': 'Notifications', 'subscriptions.caption': 'Subscriptions',
    'deliveries.caption': 'Deliveries', 'col.events': 'Events', 'col.channel': 'Channel',
    'col.target': 'Target', 'col.event': 'Event', 'col.attempts': 'Attempts',
    'deliveries.retry': 'Send again', 'deliveries.retried': 'Delivery will be tried again.',
    'status.pending': 'pending', 'status.delivered': 'delivered', 'status.failed': 'failed',
    'status.due': 'due', 'status.sent': 'sent', 'status.skipped': 'skipped',
    'status.planned': 'planned', 'status.done': 'done', 'status.cancelled': 'cancelled',
    'deliveries.none': 'None.', 'deliveries.filter': 'Status', 'deliveries.all': 'all',
  },
  sv: {
    skip: 'Hoppa till innehållet', 'nav.label': 'Huvudmeny', 'lang.label': 'Språk',
    signout: 'Logga ut', loading: 'Laddar …', error: 'Fel: {detail}',
    signedIn: 'Inloggad: {label} ({role})', 'role.admin': 'Administration',
    'role.coordinator': 'Samordning', 'role.consultant': 'Rådgivare försäkring',
    'role.occupational_health': 'Företagshälsovård', 'role.integration': 'Integration',
    'nav.surveys': 'Enkäter', 'nav.alerts': 'Larm', 'nav.agreements': 'Avtal',
    'nav.report': 'Preventionsrapport', 'nav.deliveries': 'Aviseringar',
    org: 'Organisation', yes: 'ja', no: 'nej', notFound: 'Sidan finns inte.',
    'signin.title': 'Logga in',
    'signin.intro': 'Logga in med din API-token. Den byts mot en sessionskaka och sparas inte i webbläsaren.',
    'signin.token': 'API-token', 'signin.submit': 'Logga in',
    'signin.help': 'Börjar med ”wh_”. Administratörens token finns i var/admin.token.',
    'signin.empty': 'Ange din API-token.', 'signin.bad': 'Denna token är okänd, har gått ut eller återkallats.',
    'signin.role': 'Denna token har inga sidor (integrationer använder API:t).',
    'signin.other': 'Inloggningen misslyckades: {detail}', 'signin.problem': 'Det finns ett problem',
    'surveys.title': 'Enkäter', 'surveys.none': 'Inga enkäter än.', 'surveys.caption': 'Alla enkäter',
    'col.title': 'Titel', 'col.state': 'Status', 'col.created': 'Skapad', 'col.org': 'Organisation',
    'state.draft': 'utkast', 'state.open': 'öppen', 'state.closed': 'stängd',
    'surveys.new': 'Ny enkät', 'survey.titleLabel': 'Titel',
    'survey.threshold': 'Anonymitetsgräns (minst 5 svar per cell)',
    'survey.units': 'Enheter, en per rad: nyckel; namn; överordnad nyckel (valfri)',
    'survey.questionnaire': 'Frågeformulär: kortversion med dimensionerna arbetsmängd, stöd och ledarskap (7 frågor), på tyska och engelska.',
    'survey.create': 'Skapa enkät', 'survey.created': 'Enkäten ”{title}” har skapats.',
    'survey.state': 'Status: {state}', 'survey.open': 'Öppna enkäten', 'survey.close': 'Stäng enkäten',
    'survey.opened': 'Enkäten är nu öppen.', 'survey.closedNow': 'Enkäten är nu stängd.',
    'survey.threshold.show': 'Anonymitetsgräns: {k}', 'survey.units.show': 'Enheter',
    'survey.codesIssued': 'Utdelade koder: {n}',
    'codes.title': 'Deltagarkoder', 'codes.count': 'Antal', 'codes.unit': 'Enhet',
    'codes.wholeOrg': 'hela organisationen', 'codes.delivery': 'Utdelning',
    'codes.clear': 'visa som lista', 'codes.print': 'ladda ner ett utskriftsark med QR-koder (högst 100)',
    'codes.issue': 'Dela ut koder', 'codes.shown': '{n} koder – visas bara nu, de sparas inte.',
    'codes.issuerNote': 'Den som ser koder ser inte enkätens resultat (fyraögonsprincipen).',
    'codes.caption': 'Utdelade koder', 'codes.printed': 'Utskriftsark med {n} koder nedladdat.',
    'results.link': 'Visa resultat', 'results.title': 'Resultat: {title}',
    'results.issuer': 'Du har sett koder för denna enkät; resultaten är till för någon annan (fyraögonsprincipen).',
    'results.notClosed': 'Resultat finns när enkäten är stängd.',
    'results.caption': 'Värmekarta: medelvärden 0–100 per enhet och dimension',
    'results.legend': 'Varje cell anger medelvärdet (0–100) och dess bedömning: gynnsam (grön), medel (gul) eller kritisk (röd). ”< {k}” betyder dold: färre än {k} svar, eller värdet kunde räknas fram ur andra celler.',
    'band.green': 'gynnsam', 'band.amber': 'medel', 'band.red': 'kritisk',
    'results.suppressed': 'dold', 'results.total': 'Totalt', 'col.unit': 'Enhet', 'col.n': 'Svar',
    'col.rate': 'Svarsfrekvens', 'results.hotspots': 'Åtgärdsbehov (minst gynnsamma)',
    'results.resources': 'Resurser (mest gynnsamma)', 'results.noHighlights': 'Inga värden visas.',
    'results.compare': 'Jämför med en tidigare enkät', 'results.compareNone': 'ingen jämförelse',
    'results.compareApply': 'Jämför', 'results.change': '{v} mot tidigare',
    'results.csv': 'Ladda ner resultaten som CSV', 'dim.higher': 'högre är bättre',
    'dim.lower': 'lägre är bättre',
    'alerts.title': 'Larm från screening',
    'alerts.intro': 'Brådskande larm först, sedan de äldsta. Pseudonymerna kommer från det rapporterande systemet.',
    'alerts.none': 'Inga öppna larm.', 'alerts.urgent': 'brådskande', 'alerts.normal': 'normal',
    'alerts.heading': 'Larm {subject}', 'alerts.opened': 'Öppnat: {at}',
    'alerts.escalatesIn': 'Eskaleras om {t} om det inte bekräftas', 'alerts.escalated': 'Eskalerat: {at}',
    'alerts.overdue': 'Fristen har passerat, eskalering väntar', 'alerts.state': 'Läge: {state}',
    'alert.open': 'öppet', 'alert.acknowledged': 'bekräftat', 'alert.support_offered': 'stöd erbjudet',
    'alert.closed': 'avslutat', 'alerts.ack': 'Bekräfta', 'alerts.offer': 'Erbjud stöd',
    'alerts.note': 'Anteckning (valfri, inga hälsouppgifter)', 'alerts.close': 'Avsluta',
    'alerts.outcome': 'Utfall', 'outcome.accepted': 'accepterat', 'outcome.declined': 'avböjt',
    'outcome.no_contact': 'ingen kontakt', 'alerts.done': 'Larm {subject}: {state}.',
    'alerts.closedTitle': 'Avslutade larm', 'alerts.noneClosed': 'Inga än.',
    'alerts.noteShow': 'Anteckning: {note}', 'alerts.outcomeShow': 'Utfall: {o}',
    'agreements.title': 'Avtal', 'agreements.caption': 'Samarbetsavtal', 'agreements.none': 'Inga avtal.',
    'col.phase': 'Fas', 'col.ends': 'Slutar', 'col.notice': 'Uppsägningsfrist',
    'col.daysNotice': 'Dagar till fristen', 'phase.upcoming': 'kommande', 'phase.active': 'pågående',
    'phase.expired': 'avslutat', 'agreement.activities': 'Aktiviteter', 'agreement.reminders': 'Påminnelser',
    'agreement.term': 'Löptid: {from} till {to}', 'col.kind': 'Typ', 'col.planned': 'Planerad',
    'col.status': 'Status', 'col.participants': 'Deltagare', 'col.due': 'Förfaller',
    'col.daysBefore': 'Dagar före fristen', 'col.sent': 'Skickad', 'days': '{n} dagar',
    'deadlinePassed': 'fristen har passerat', 'agreement.noActivities': 'Inga aktiviteter.',
    'report.title': 'Preventionsrapport', 'report.insurer': 'Försäkringsgivare', 'report.year': 'År',
    'report.show': 'Visa', 'report.figures': 'Nyckeltal {year}',
    'report.agreements_active': 'Pågående avtal', 'report.agreements_new': 'Nya avtal',
    'report.organizations': 'Organisationer', 'report.employees_covered': 'Anställda som nås',
    'report.activities_done': 'Genomförda aktiviteter', 'report.participants': 'Deltagare',
    'report.byKind': 'Genomförda aktiviteter per typ', 'report.byFocus': 'Avtal per insatsområde',
    'report.chartNote': 'Stapeldiagram; samma siffror finns i tabellen nedan.',
    'report.noInsurer': 'Ingen försäkringsgivare synlig.', 'col.count': 'Antal',
    'deliveries.title': 'Aviseringar', 'subscriptions.caption': 'Prenumerationer',
    'deliveries.caption': 'Leveranser', 'col.events': 'Händelser', 'col.channel': 'Kanal',
    'col.target': 'Mål', 'col.event': 'Händelse', 'col.attempts': 'Försök',
    'deliveries.retry': 'Skicka igen', 'deliveries.retried': 'Leveransen försöks igen.',
    'status.pending': 'väntar', 'status.delivered': 'levererad', 'status.failed': 'misslyckad',
    'status.due': 'förfaller', 'status.sent': 'skickad', 'status.skipped': 'hoppades över',
    'status.planned': 'planerad', 'status.done': 'genomförd', 'status.cancelled': 'inställd',
    'deliveries.none': 'Inga.', 'deliveries.filter': 'Status', 'deliveries.all': 'alla',
    'kind.health_day': 'Hälsodag', 'kind.workshop': 'Workshop', 'kind.course': 'Kurs',
    'kind.leadership_training': 'Ledarskapsutbildning', 'kind.survey': 'Enkät',
    'kind.sick_leave_analysis': 'Sjukfrånvaroanalys', 'kind.steering_group_meeting': 'Styrgrupp',
    'kind.consultation': 'Rådgivning', 'kind.other': 'Övrigt', 'focus.work_design': 'Arbetsutformning',
    'focus.healthy_leadership': 'Hälsosamt ledarskap', 'focus.movement': 'Rörelse',
    'focus.nutrition': 'Kost', 'focus.addiction_prevention': 'Missbruksprevention',
    'focus.stress_management': 'Stresshantering', 'focus.physical_strain': 'Fysisk belastning',
    'focus.networking': 'Nätverkande', 'focus.other': 'Övrigt',
  },
};

export const LANGUAGES = [['de', 'Deutsch'], ['en', 'English'], ['sv', 'Svenska']];
const KEY = 'wh_lang';

function pick() {
  const want = new URLSearchParams(window.location.search).get('lang');
  if (want && TEXTS[want]) {
    try { window.localStorage.setItem(KEY, want); } catch (e) { /* this page only */ }
    return want;
  }
  let kept = null;
  try { kept = window.localStorage.getItem(KEY); } catch (e) { kept = null; }
  if (kept && TEXTS[kept]) return kept;
  for (const l of navigator.languages || []) {
    const short = l.slice(0, 2).toLowerCase();
    if (TEXTS[short]) return short;
  }
  return 'de';
}

export let lang = pick();

export function setLang(l) {
  if (!TEXTS[l]) return;
  lang = l;
  try { window.localStorage.setItem(KEY, l); } catch (e) { /* private mode: this page only */ }
  document.documentElement.lang = l;
}

export function t(key, vars) {
  let s = (TEXTS[lang] && TEXTS[lang][key]) || TEXTS.de[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.split('{' + k + '}').join(String(v));
  return s;
}

// The text for value under prefix ('state', 'draft'), or the value itself.
export function label(prefix, value) {
  const k = prefix + '.' + value;
  return (TEXTS[lang] && TEXTS[lang][k]) || String(value).replace(/_/g, ' ');
}

const LOCALES = { de: 'de-DE', en: 'en-GB', sv: 'sv-SE' };
export function num(x, digits = 0) {
  return Number(x).toLocaleString(LOCALES[lang], { minimumFractionDigits: digits,
    maximumFractionDigits: digits });
}
export function when(iso) {
  if (!iso) return '–';
  return new Date(iso).toLocaleString(LOCALES[lang], { dateStyle: 'medium', timeStyle: 'short' });
}
export function day(date) {
  if (!date) return '–';
  return new Date(date + 'T00:00:00Z').toLocaleDateString(LOCALES[lang], { dateStyle: 'medium',
    timeZone: 'UTC' });
}

// Static texts of a page: [data-i18n] elements' text, [data-i18n-label]
// elements' aria-label, and the language switch into holder.
export function apply(root, holder, onChange) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]'))
    el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  if (!holder) return;
  holder.setAttribute('aria-label', t('lang.label'));
  while (holder.firstChild) holder.removeChild(holder.firstChild);
  const ul = document.createElement('ul');
  for (const [code, name] of LANGUAGES) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.lang = code;
    b.textContent = name;
    b.className = 'lang';
    if (code === lang) b.setAttribute('aria-pressed', 'true');
    else b.setAttribute('aria-pressed', 'false');
    b.addEventListener('click', () => { setLang(code); onChange(code); });
    li.append(b);
    ul.append(li);
  }
  holder.append(ul);
}
