// What a pricing rule may use: the basket it prices and the result it returns.
interface Line {
  sku: string;
  qty: number;
  unitPrice: number;
  tags: readonly string[];
}

interface Basket {
  customer: { tier: 'standard' | 'gold' | 'platinum'; since: string };
  lines: readonly Line[];
}

interface Adjustment {
  label: string;
  amount: number;
}

type Rule = (basket: Basket) => Adjustment[];
