"""What bench/admin_queue.py's data is made of: the words its titles, captions, credits,
comments and reasons are drawn from, its moderation policies and images per article."""

REASONS_WEIGHTED = (
    ["violence"] * 5
    + ["nudity"] * 4
    + ["hate"] * 2
    + ["harassment"] * 2
    + ["spam"] * 2
    + ["misleading"] * 2
    + ["copyright", "illegal", "other"]
)
COMMENTS = [
    "Image choquante, pas adaptée à la une.",
    "Photo violente sans avertissement.",
    "Cette photo appartient à notre agence.",
    "Montage trompeur, ce n'est pas le bon lieu.",
    "On voit le visage d'un enfant.",
    "Publicité déguisée.",
    "Ce n'est pas la bonne date.",
    "Offensant pour les victimes.",
]
SOURCE_NAMES = [
    "Le Quotidien du Sud",
    "La Gazette de l'Ouest",
    "Le Courrier de Lyon",
    "Nord Matin",
    "L'Écho des Alpes",
    "Le Journal de Bretagne",
    "Paris Soir Express",
    "La Dépêche du Centre",
    "Le Petit Normand",
    "Méditerranée Info",
    "Le Républicain Lorrain",
    "L'Alsace Aujourd'hui",
    "Le Phare de Nantes",
    "La Voix du Rhône",
    "Le Progrès de Dijon",
    "Atlantique Hebdo",
    "Le Messager de Genève",
    "Le Soir de Bruxelles",
    "Dakar Actu",
    "Montréal Dépêche",
]
SUBJECTS = [
    "Incendie",
    "Manifestation",
    "Élections",
    "Tempête",
    "Procès",
    "Grève",
    "Inondations",
    "Festival",
    "Sommet",
    "Accident",
    "Séisme",
    "Marché",
    "Concert",
    "Match",
    "Réforme",
    "Crise",
    "Enquête",
    "Canicule",
    "Rentrée",
    "Exposition",
]
PLACES = [
    "Marseille",
    "Lyon",
    "Paris",
    "Toulouse",
    "Nantes",
    "Lille",
    "Bordeaux",
    "Nice",
    "Strasbourg",
    "Rennes",
    "Montpellier",
    "Grenoble",
    "Dijon",
    "Brest",
    "Rouen",
    "Reims",
    "Tours",
    "Metz",
    "Nancy",
    "Caen",
    "Bruxelles",
    "Genève",
    "Dakar",
    "Alger",
    "Tunis",
    "Montréal",
    "Beyrouth",
    "Abidjan",
    "Casablanca",
    "Madrid",
]
QUALIFIERS = [
    "ce que l'on sait",
    "les images",
    "le récit",
    "les réactions",
    "le point sur la situation",
    "les premières conclusions",
    "ce qui change",
    "en direct",
    "l'analyse",
    "les chiffres",
    "témoignages",
    "la chronologie",
]
CAPTIONS = [
    "Des habitants rassemblés",
    "Vue aérienne du quartier",
    "Les secours sur place",
    "La foule devant la mairie",
    "Un policier surveille la scène",
    "Les premiers témoins",
    "Le cortège dans le centre-ville",
    "Une rue après le passage",
]
CREDITS = ["AFP", "Reuters", "AP", "Getty Images", "DR", "Photo de la rédaction"]
BODY = (
    "Les faits se sont produits en fin de journée, selon plusieurs témoins joints par la "
    "rédaction. Les autorités locales ont confirmé l'information et promis de communiquer "
    "rapidement sur les suites. Sur place, les habitants décrivent une situation tendue "
    "mais maîtrisée, et saluent la réactivité des services publics.\n\n"
    "## Ce que disent les responsables\n\n"
    "Le maire a pris la parole devant la presse pour appeler au calme. Il a annoncé la "
    "tenue d'une réunion publique dans les prochains jours, ainsi qu'un bilan détaillé. "
    "Les associations du quartier demandent davantage de moyens et une meilleure "
    "information des riverains.\n\n"
    "## Et maintenant\n\n"
    "Une enquête a été ouverte. Les conclusions sont attendues d'ici la fin du mois, "
    "et la rédaction suivra le dossier."
)

# Policies: (source id or None, threshold, window in days). The global row
# matches the settings' defaults; three sources have their own.
POLICIES = [(None, 5, 30), (1, 3, 14), (2, 10, 30), (3, 5, 7)]
IMAGES_PER_ARTICLE = 4
